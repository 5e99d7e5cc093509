#include "cats/util/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

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

}  // namespace cats
