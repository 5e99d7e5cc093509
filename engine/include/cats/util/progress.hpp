// A one-line progress bar with rate and ETA on stderr, for long runs. Drawn only when asked for
// and stderr is a terminal (never into logs, pipes or CI output); redrawn at most 10 times a
// second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cats {

class progress_bar {
 public:
  /// `what`: the unit counted ("events", "runs"); drawing happens only if `enabled` and stderr is
  /// a TTY.
  progress_bar(bool enabled, std::string what);
  ~progress_bar();
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  /// `fraction` in [0, 1] (negative: unknown, then no bar and no ETA); `count` done so far.
  void update(double fraction, uint64_t count);
  /// Clears the line.
  void finish(uint64_t count);
  bool active() const noexcept { return active_; }

  /// The text of the line, for tests: "[#####.....]  45.0%  1.23 M events/s  ETA 0:12".
  static std::string render(double fraction, uint64_t count, double seconds,
                            const std::string& what, int width);

 private:
  bool active_ = false;
  bool drawn_ = false;
  std::string what_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace cats
