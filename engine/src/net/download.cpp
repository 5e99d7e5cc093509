#include <utility>  // before Asio: Boost 1.74 with C++20 needs std::exchange declared first

#include "cats/net/download.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tls_connect.hpp"

namespace cats::net {

using namespace detail;  // NOLINT(google-build-using-namespace): this area's own plumbing
namespace http = beast::http;

namespace {

using stream_t = beast::ssl_stream<beast::tcp_stream>;

struct attempt_state {
  std::string url;
  url_parts parts;
  const download_options* opt = nullptr;
  std::FILE* out = nullptr;     // appending to the .part (download_file)
  std::string* text = nullptr;  // or collecting a small body (fetch_text)
  uint64_t have = 0;            // bytes already there before this attempt
  uint64_t total = 0;           // the whole file's size, once a response said it
  uint64_t fetched = 0;         // bytes received by this attempt
  int status = 0;
  bool restart = false;   // the server sent the whole file: the .part starts again
  bool complete = false;  // the body arrived whole
  std::string error;
};

// One GET (from byte `have` when resuming), its body streamed to the file or the string.
asio::awaitable<void> one_attempt(attempt_state& s) {
  auto ex = co_await asio::this_coro::executor;
  const std::shared_ptr<ssl::context> ctx = make_context(s.opt->tls);  // outlives the stream
  stream_t stream(ex, *ctx);
  std::string refused;
  try {
    co_await connect_tls(stream, s.parts, s.opt->timeout, refused);
    http::request<http::empty_body> req{http::verb::get, s.parts.target, 11};
    req.set(http::field::host,
            s.parts.port == "443" ? s.parts.host : s.parts.host + ":" + s.parts.port);
    req.set(http::field::user_agent, "cats");
    if (s.have > 0) req.set(http::field::range, "bytes=" + std::to_string(s.have) + "-");
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(s.opt->timeout);
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    tcp_layer.expires_after(s.opt->timeout);
    co_await http::async_read_header(stream, buf, parser, asio::use_awaitable);
    s.status = static_cast<int>(parser.get().result_int());
    if (s.status == 206) {
      // "bytes N-M/TOTAL": it must go on from exactly where the file stops.
      const std::string range(parser.get()[http::field::content_range]);
      unsigned long long from = 0, to = 0, total = 0;
      if (std::sscanf(range.c_str(), "bytes %llu-%llu/%llu", &from, &to, &total) != 3 ||
          from != s.have || to + 1 != total) {
        // Not the rest of our file: the partial one is dropped and the next attempt starts over.
        s.error = "unexpected Content-Range '" + range + "' for a file of " +
                  std::to_string(s.have) + " bytes (starting again)";
        s.restart = true;
        if (s.out != nullptr && (std::fflush(s.out) != 0 || ::ftruncate(::fileno(s.out), 0) != 0))
          s.error = "cannot truncate the partial file";
        co_return;
      }
      s.total = total;
    } else if (s.status == 200) {
      s.restart = s.have > 0;  // no ranges here: the whole body again
      s.total = parser.content_length() ? *parser.content_length() : 0;
    } else if (s.status == 416 && s.have > 0) {
      // "bytes */TOTAL": a partial file that is already whole (the last run stopped before the
      // rename) is done; one longer than the server's is started over.
      const std::string range(parser.get()[http::field::content_range]);
      unsigned long long total = 0;
      if (std::sscanf(range.c_str(), "bytes */%llu", &total) == 1 && total == s.have) {
        s.total = total;
        s.complete = true;
        co_return;
      }
      s.restart = true;
    } else {
      co_return;
    }
    if (s.restart && s.out != nullptr) {
      if (std::fflush(s.out) != 0 || ::ftruncate(::fileno(s.out), 0) != 0 ||
          std::fseek(s.out, 0, SEEK_SET) != 0) {
        s.error = "cannot truncate the partial file";
        co_return;
      }
      s.have = 0;
    }
    if (s.status == 416) co_return;  // the next attempt asks for the whole file
    char chunk[64 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      tcp_layer.expires_after(s.opt->timeout);
      boost::system::error_code ec;
      co_await http::async_read_some(stream, buf, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec && ec != http::error::need_buffer) throw boost::system::system_error(ec);
      const size_t n = sizeof chunk - parser.get().body().size;
      if (n > 0) {
        if (s.out != nullptr) {
          if (std::fwrite(chunk, 1, n, s.out) != n) {
            s.error = "cannot write the partial file";
            co_return;
          }
        } else {
          if (s.text->size() + n > (1u << 20)) {
            s.error = "body larger than 1 MiB";
            co_return;
          }
          s.text->append(chunk, n);
        }
        s.fetched += n;
        if (s.opt->progress) s.opt->progress(s.have + s.fetched, s.total);
      }
    }
    s.complete = true;
    boost::system::error_code ignored;
    tcp_layer.expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ignored));
  } catch (const boost::system::system_error& e) {
    s.error = refused.empty() ? describe(e) : refused;
  } catch (const std::exception& e) {
    s.error = e.what();
  }
}

void run_attempt(attempt_state& s) {
  asio::io_context io;
  asio::co_spawn(io, one_attempt(s), [&s](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      s.error = x.what();
    }
  });
  io.run();
}

bool parse(const std::string& url, url_parts& parts, download_result& r) {
  std::string err;
  if (!parse_url(url, parts, err) || parts.scheme != "https") {
    r.error = url + ": " + (err.empty() ? "not an https:// URL" : err);
    return false;
  }
  return true;
}

}  // namespace

download_result download_file(const std::string& url, const std::filesystem::path& file,
                              const download_options& options) {
  download_result r;
  attempt_state s;
  s.url = url;
  s.opt = &options;
  if (!parse(url, s.parts, r)) return r;
  const std::filesystem::path part = file.string() + ".part";
  std::error_code ec;
  const auto existing = std::filesystem::file_size(part, ec);
  s.have = ec ? 0 : existing;
  r.resumed = s.have > 0;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(part.c_str(), "ab"), &std::fclose);
  if (!out) {
    r.error = "cannot write " + part.string();
    return r;
  }
  s.out = out.get();
  for (int attempt = 1; attempt <= std::max(1, options.attempts); ++attempt) {
    r.attempts = attempt;
    s.error.clear();
    s.status = 0;
    s.fetched = 0;
    s.restart = false;
    s.complete = false;
    run_attempt(s);
    r.status = s.status;
    r.fetched += s.fetched;
    if (s.restart) r.resumed = false;
    // What is on disk, not what was counted, is where the next attempt goes on from.
    struct stat st {};
    if (std::fflush(s.out) != 0 || ::fstat(::fileno(s.out), &st) != 0) {
      r.error = "cannot write " + part.string();
      return r;
    }
    s.have = static_cast<uint64_t>(st.st_size);
    if (s.complete && s.total != 0 && s.have < s.total) s.complete = false;  // a short 206
    if (s.complete) break;
    if (s.status == 404 || s.status == 403 || s.status == 401) {
      s.error = "HTTP " + std::to_string(s.status);
      break;
    }
    if (s.error.empty()) {
      if (s.status == 200 || s.status == 206 || s.status == 416) {
        s.error = "the body ended at " + std::to_string(s.have) + " of " + std::to_string(s.total) +
                  " bytes";  // the next attempt asks for the rest
      } else {
        s.error = s.status == 0 ? "no response" : "HTTP " + std::to_string(s.status);
        if ((s.status < 500 || s.status > 599) && s.status != 429) break;
      }
    }
    if (attempt < options.attempts)
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
  if (!s.complete) {
    r.error = url + ": " + s.error;
    return r;
  }
  if (std::fflush(s.out) != 0 || ::fsync(::fileno(s.out)) != 0) {
    r.error = "cannot write " + part.string();
    return r;
  }
  out.reset();
  r.bytes = std::filesystem::file_size(part, ec);
  if (s.total != 0 && r.bytes != s.total) {
    r.error = url + ": " + std::to_string(r.bytes) + " bytes on disk, the server said " +
              std::to_string(s.total);
    return r;
  }
  std::filesystem::rename(part, file, ec);
  if (ec) r.error = "cannot rename " + part.string() + ": " + ec.message();
  return r;
}

download_result fetch_text(const std::string& url, std::string& body,
                           const download_options& options) {
  download_result r;
  attempt_state s;
  s.opt = &options;
  if (!parse(url, s.parts, r)) return r;
  for (int attempt = 1; attempt <= std::max(1, options.attempts); ++attempt) {
    r.attempts = attempt;
    body.clear();
    s.text = &body;
    s.error.clear();
    s.status = 0;
    run_attempt(s);
    r.status = s.status;
    if (s.complete && s.status == 200) {
      r.bytes = body.size();
      return r;
    }
    if (s.error.empty())
      s.error = s.status == 0 ? "no response" : "HTTP " + std::to_string(s.status);
    if (s.status != 0 && s.status != 429 && (s.status < 500 || s.status > 599)) break;
    if (attempt < options.attempts)
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
  r.error = url + ": " + s.error;
  return r;
}

std::string sha256_file(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 (OpenSSL) is not available");
  std::vector<char> buf(1 << 20);
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), in.get())) > 0;)
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
  if (std::ferror(in.get())) throw std::runtime_error("cannot read " + file.string());
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace cats::net
