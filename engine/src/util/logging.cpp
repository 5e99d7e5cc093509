#include "cats/util/logging.hpp"

#include <fcntl.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>

namespace cats {

bool setup_logging(const std::string& level, const std::filesystem::path& file,
                   std::string& error) {
  const spdlog::level::level_enum lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    error = "unknown log level '" + level + "'";
    return false;
  }
  try {
    std::vector<spdlog::sink_ptr> sinks;
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_pattern("%^%L%$ %H:%M:%S.%e %v");
    sinks.push_back(console);
    if (!file.empty()) {
      auto f = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string(), false);
      f->set_pattern("%Y-%m-%dT%H:%M:%S.%f %l %v");
      sinks.push_back(f);
    }
    auto logger = std::make_shared<spdlog::logger>("cats", sinks.begin(), sinks.end());
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    error = std::string("cannot set up logging: ") + e.what();
    return false;
  }
  return true;
}

namespace {
std::atomic<std::FILE*> results{nullptr};
}  // namespace

std::FILE* results_stream() noexcept {
  std::FILE* f = results.load();
  return f != nullptr ? f : stdout;
}

bool divert_stdout() noexcept {
  if (results.load() != nullptr) return true;
  std::fflush(stdout);
  const int fd = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return false;
  std::FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return false;
  }
  if (::dup2(2, 1) < 0) {
    std::fclose(f);
    return false;
  }
  results.store(f);
  return true;
}

}  // namespace cats
