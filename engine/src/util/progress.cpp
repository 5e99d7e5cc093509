#include "cats/util/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace cats {

progress_bar::progress_bar(bool enabled, std::string what)
    : active_(enabled && ::isatty(STDERR_FILENO) == 1), what_(std::move(what)) {
  start_ = last_ = std::chrono::steady_clock::now();
}

progress_bar::~progress_bar() {
  if (drawn_) finish(0);
}

std::string progress_bar::render(double fraction, uint64_t count, double seconds,
                                 const std::string& what, int width) {
  std::string out;
  char buf[96];
  if (fraction >= 0) {
    if (fraction > 1) fraction = 1;
    const int filled = static_cast<int>(std::lround(fraction * width));
    out += '[';
    out.append(static_cast<size_t>(filled), '#');
    out.append(static_cast<size_t>(width - filled), '.');
    out += ']';
    std::snprintf(buf, sizeof buf, " %5.1f%%", fraction * 100.0);
    out += buf;
  }
  const double rate = seconds > 0 ? static_cast<double>(count) / seconds : 0;
  if (rate >= 1e6)
    std::snprintf(buf, sizeof buf, "  %.2f M %s/s", rate / 1e6, what.c_str());
  else if (rate >= 1e3)
    std::snprintf(buf, sizeof buf, "  %.1f k %s/s", rate / 1e3, what.c_str());
  else
    std::snprintf(buf, sizeof buf, "  %.1f %s/s", rate, what.c_str());
  out += buf;
  if (fraction > 0.001 && fraction < 1) {
    const auto eta = static_cast<int64_t>(seconds * (1 - fraction) / fraction);
    if (eta >= 3600)
      std::snprintf(buf, sizeof buf, "  ETA %lld:%02lld:%02lld", static_cast<long long>(eta / 3600),
                    static_cast<long long>(eta / 60 % 60), static_cast<long long>(eta % 60));
    else
      std::snprintf(buf, sizeof buf, "  ETA %lld:%02lld", static_cast<long long>(eta / 60),
                    static_cast<long long>(eta % 60));
    out += buf;
  }
  return out;
}

void progress_bar::update(double fraction, uint64_t count) {
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const std::string line = render(fraction, count, seconds, what_, 30);
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void progress_bar::finish(uint64_t) {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace cats
