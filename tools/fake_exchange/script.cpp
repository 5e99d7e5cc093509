#include "script.hpp"

#include <simdjson.h>

#include <fstream>

namespace cats::fake {

bool load_script(const std::string& path, const market& m, std::vector<script_line>& out,
                 std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open script " + path;
    return false;
  }
  simdjson::dom::parser parser;
  std::string text;
  int number = 0;
  while (std::getline(in, text)) {
    ++number;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fail = [&](const std::string& why) {
      error = path + ":" + std::to_string(number) + ": " + why;
      return false;
    };
    simdjson::dom::element doc;
    if (parser.parse(text).get(doc) != simdjson::SUCCESS) return fail("not valid JSON");
    std::string_view venue_text, stream;
    simdjson::dom::object msg;
    if (doc["venue"].get(venue_text) != simdjson::SUCCESS ||
        doc["stream"].get(stream) != simdjson::SUCCESS ||
        doc["msg"].get(msg) != simdjson::SUCCESS) {
      return fail("needs \"venue\", \"stream\" and an object \"msg\"");
    }
    script_line line;
    int64_t delay = 0;
    if (auto d = doc["delay_us"]; d.error() == simdjson::SUCCESS) {
      if (d.get(delay) != simdjson::SUCCESS || delay < 0) {
        return fail("\"delay_us\" must be a non-negative integer");
      }
    }
    line.delay_us = delay;
    subscription sub;
    std::string why;
    if (venue_text == "binance") {
      line.where = venue::binance;
      if (!parse_binance_stream(stream, m, true, sub, why)) return fail(why);
      simdjson::dom::element data;
      if (msg["stream"].error() == simdjson::SUCCESS &&
          msg["data"].get(data) == simdjson::SUCCESS) {
        line.payload = simdjson::minify(data);
      } else {
        line.payload = simdjson::minify(msg);
      }
    } else if (venue_text == "okx") {
      line.where = venue::okx;
      const size_t colon = stream.find(':');
      if (colon == std::string_view::npos) return fail("an OKX stream is \"channel:instId\"");
      if (!parse_okx_channel(stream.substr(0, colon), stream.substr(colon + 1), m, true, sub,
                             why)) {
        return fail(why);
      }
      line.payload = simdjson::minify(msg);
    } else {
      return fail("\"venue\" must be \"binance\" or \"okx\"");
    }
    line.key = sub.key;
    out.push_back(std::move(line));
  }
  return true;
}

bool render_script(const script_line& line, const subscription& s, bool combined,
                   std::string& out) {
  if (line.where != s.where || line.key != s.key) return false;
  out.clear();
  if (line.where == venue::binance && combined) {
    out += "{\"stream\":";
    append_json_string(out, s.name);
    out += ",\"data\":";
    out += line.payload;
    out += '}';
  } else {
    out += line.payload;
  }
  return true;
}

}  // namespace cats::fake
