// report.html from the real `cats backtest --out` on the bundled config, drawn by headless
// Chromium: the page's script must finish (body[data-rendered="ok"]) and every chart must have
// drawn its points. Skipped with a message when Chromium is not installed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cats/report/html_report.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;

const std::string cats_bin = CATS_BINARY;

// $CATS_CHROMIUM, else the first of the usual names found in PATH.
std::string find_chromium() {
  if (const char* env = std::getenv("CATS_CHROMIUM"); env != nullptr && *env != '\0') return env;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "chrome"}) {
    size_t start = 0;
    while (start <= dirs.size()) {
      const size_t end = std::min(dirs.find(':', start), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      start = end + 1;
    }
  }
  return {};
}

// Runs Chromium headless in its own process group, stdout to `out_file`; the whole group (the
// browser and its helper processes) is killed after `timeout_s` and in any case at the end, so
// nothing is left behind. Returns the exit code, -1 on a signal or timeout.
int run_chromium(const std::string& chromium, const std::vector<std::string>& args,
                 const fs::path& out_file, const fs::path& err_file, int timeout_s = 60) {
  std::vector<std::string> argv = {
      chromium,         "--headless=new",    "--no-sandbox",         "--disable-gpu",
      "--no-first-run", "--hide-scrollbars", "--disable-extensions", "--virtual-time-budget=5000"};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::setpgid(0, 0);
    const int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0) ::_exit(127);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> c;
    for (std::string& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    ::execv(c[0], c.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with the child's own call
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  bool done = false;
  while (!done) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      done = true;
    } else if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ::kill(-pid, SIGKILL);  // helpers that outlived the browser, if any (ESRCH otherwise)
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The opening tag of the element with this id, and the text up to its closing </svg>.
std::string svg_of(const std::string& dom, const std::string& id) {
  const size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return {};
  const size_t start = dom.rfind('<', at);
  const size_t end = dom.find("</svg>", at);
  return dom.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

long attr(const std::string& tag, const std::string& name) {
  const std::string needle = name + "=\"";
  const size_t at = tag.find(needle);
  if (at == std::string::npos || at > tag.find('>')) return -1;
  return std::strtol(tag.c_str() + at + needle.size(), nullptr, 10);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

size_t lines(const fs::path& file) {
  return count(test::read_file(file), "\n");
}

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = find_chromium();
    if (chromium_.empty())
      GTEST_SKIP() << "chromium is not installed (apt-get install chromium, or set CATS_CHROMIUM)";
  }
  // Dumps the DOM after the scripts ran; fails the test if Chromium does not finish.
  std::string dump_dom(const fs::path& html) {
    const fs::path out = dir_ / "dom.html", err = dir_ / "chromium.err";
    const int rc = run_chromium(
        chromium_,
        {"--user-data-dir=" + (dir_ / "profile").string(), "--dump-dom", "file://" + html.string()},
        out, err);
    EXPECT_EQ(rc, 0) << test::read_file(err);
    return test::read_file(out);
  }
  std::string chromium_;
  test::temp_dir dir_;
};

TEST_F(Report, BacktestReportRendersInChromium) {
  // Four months of the bundled config's market (the sample year is made by tools/demo.sh; a
  // shorter one is generated here), with the config's own strategy and settings.
  const fs::path data = dir_ / "sample.csv", out = dir_ / "out";
  test::run_result r =
      test::run({cats_bin, "generate", "--out", data.string(), "--days", "120", "--seed", "11"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = test::run({cats_bin, "backtest", "--config",
                 std::string(CATS_SOURCE_DIR) + "/config/backtest.toml", "--set",
                 "data.files=[\"" + data.string() + "\"]", "--set", "engine.log_level=\"warn\"",
                 "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string html = test::read_file(out / "report.html");
  // Self-contained: nothing is loaded from anywhere.
  EXPECT_EQ(count(html, "http://"), count(html, "http://www.w3.org/2000/svg"));
  EXPECT_EQ(count(html, "https://"), 0u);
  EXPECT_EQ(count(html, "<link"), 0u);
  EXPECT_EQ(count(html, "src="), 0u);

  const std::string dom = dump_dom(out / "report.html");
  ASSERT_NE(dom.find("data-rendered=\"ok\""), std::string::npos)
      << dom.substr(0, std::min<size_t>(dom.size(), 400));
  for (const char* id : {"equity-svg", "drawdown-svg", "price-svg"}) {
    const std::string svg = svg_of(dom, id);
    ASSERT_FALSE(svg.empty()) << id;
    EXPECT_GT(attr(svg, "data-points"), 0) << id;
    EXPECT_GT(count(svg, "<path"), 0u) << id;
    EXPECT_GT(count(svg, "<circle"), 0u) << id;  // the tooltip's dots
    EXPECT_GT(count(svg, "<text"), 4u) << id;    // axis labels
  }
  // Equity and buy & hold, the initial point included; every sample until it is decimated.
  const long eq_points = attr(svg_of(dom, "equity-svg"), "data-points");
  EXPECT_LE(eq_points, 2 * 4001);
  EXPECT_GE(eq_points, 2 * 2000);
  // One marker per fill (fills.csv has them all: far below the 5000 cap).
  const size_t fills = lines(out / "fills.csv") - 1;
  ASSERT_GT(fills, 0u);
  EXPECT_EQ(attr(svg_of(dom, "price-svg"), "data-markers"), static_cast<long>(fills));
  // The trade list has every round trip of trades.csv, the monthly table the four months.
  const size_t trades = lines(out / "trades.csv") - 1;
  const size_t table_at = dom.find("id=\"trades\"");
  ASSERT_NE(table_at, std::string::npos);
  const std::string table = dom.substr(table_at, dom.find("</table>", table_at) - table_at);
  EXPECT_EQ(count(table, "<tr>") - 1, trades);  // minus the header row
  // Every trade says why it was entered and left (the reference plugin names its signals).
  EXPECT_EQ(count(table, ">fast crossed above slow<"), trades);
  EXPECT_EQ(count(table, ">fast crossed below slow<"), trades);
  const size_t months_at = dom.find("id=\"monthly\"");
  ASSERT_NE(months_at, std::string::npos);
  const std::string months = dom.substr(months_at, dom.find("</table>", months_at) - months_at);
  EXPECT_EQ(count(months, " %</td>"), 4u + 1u);  // Jan..Apr 2024 and the year

  // Candles on the price chart (one per drawn point), the rolling Sharpe ratio and the histogram
  // of the 120 daily returns, a calendar cell per day, the deepest drawdowns of summary.json and
  // the breakdown by strategy.
  const std::string price = svg_of(dom, "price-svg");
  // A candle per price point (the curve's starting point, the initial equity, has none).
  EXPECT_GE(attr(price, "data-candles"), eq_points / 2 - 1);
  EXPECT_LE(attr(price, "data-candles"), eq_points / 2);
  EXPECT_EQ(attr(price, "data-log"), 0);
  EXPECT_GT(attr(svg_of(dom, "rolling-sharpe-svg"), "data-points"), 120 - 30);
  EXPECT_EQ(attr(svg_of(dom, "returns-hist-svg"), "data-points"), 120);
  EXPECT_GT(attr(svg_of(dom, "returns-hist-svg"), "data-bars"), 4);
  const size_t daily_at = dom.find("id=\"daily\"");
  ASSERT_NE(daily_at, std::string::npos);
  const std::string daily = dom.substr(daily_at, dom.find("</table>", daily_at) - daily_at);
  EXPECT_EQ(count(daily, "<td class=\"d\""), 120u);
  const std::string summary = test::read_file(out / "summary.json");
  const size_t dd_at = dom.find("id=\"drawdowns\"");
  ASSERT_NE(dd_at, std::string::npos);
  const std::string dds = dom.substr(dd_at, dom.find("</table>", dd_at) - dd_at);
  EXPECT_EQ(count(dds, "<tr>") - 1, count(summary, "\"depth_pct\""));
  EXPECT_GE(count(summary, "\"depth_pct\""), 1u);
  const size_t by_at = dom.find("id=\"by-strategy\"");
  ASSERT_NE(by_at, std::string::npos);
  EXPECT_NE(dom.find("<td class=\"t\">sma</td>", by_at), std::string::npos);
  EXPECT_NE(dom.find("class=\"data sortable\" id=\"trades\""), std::string::npos);

  // A screenshot: the page paints (a blank page compresses to almost nothing).
  const fs::path png = dir_ / "report.png";
  const int rc =
      run_chromium(chromium_,
                   {"--user-data-dir=" + (dir_ / "profile").string(), "--window-size=1280,2400",
                    "--screenshot=" + png.string(), "file://" + (out / "report.html").string()},
                   dir_ / "shot.out", dir_ / "shot.err");
  EXPECT_EQ(rc, 0) << test::read_file(dir_ / "shot.err");
  ASSERT_TRUE(fs::exists(png));
  const std::string image = test::read_file(png);
  EXPECT_EQ(image.substr(1, 3), "PNG");
  EXPECT_GT(image.size(), 50'000u);
}

// What a strategy plots: its series over the price chart (with a gap where it gave NaN) and in a
// panel under it, with a legend; every value in plots.csv, a replaced value only once.
TEST_F(Report, StrategyPlotsAreDrawnOverThePriceAndInPanels) {
  const fs::path data = dir_ / "plots.csv.data", out = dir_ / "plots";
  test::run_result r =
      test::run({cats_bin, "generate", "--out", data.string(), "--days", "3", "--seed", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path cfg = dir_ / "plots.toml";
  test::write_file(cfg, "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" CATS_TEST_PLUGIN_DIR
                        "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"" +
                            data.string() +
                            "\"]\nformat = \"binance_klines\"\n[[strategy]]\nname = \"p\"\n"
                            "plugin = \"plot_strategy\"\n");
  r = test::run({cats_bin, "backtest", "--config", cfg.string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t bars = 3 * 1440;
  // sma from bar 20 (a gap row before: empty value), rsi from bar 15, mid on every bar.
  const std::string csv = test::read_file(out / "plots.csv");
  EXPECT_EQ(count(csv, ",p,sma,,"), bars);
  EXPECT_EQ(count(csv, ",p,sma,,\n"), 19u) << "the NaN values are empty cells";
  EXPECT_EQ(count(csv, ",p,rsi,RSI,"), bars - 14);
  EXPECT_EQ(count(csv, ",p,mid,RSI,50\n"), bars) << "the replaced 0 is not written";
  EXPECT_EQ(count(csv, ",p,mid,RSI,0\n"), 0u);

  const std::string dom = dump_dom(out / "report.html");
  ASSERT_NE(dom.find("data-rendered=\"ok\""), std::string::npos)
      << dom.substr(0, std::min<size_t>(dom.size(), 400));
  const std::string price = svg_of(dom, "price-svg"), panel = svg_of(dom, "panel-0-svg");
  ASSERT_FALSE(panel.empty()) << "the RSI panel";
  // Price: the price line and the SMA; the panel: the RSI and the 50 line, each decimated to at
  // most 4000 points (3 days of minutes is 4320 values).
  EXPECT_EQ(count(price, "stroke-width=\"1.1\""), 1u) << "one overlay series";
  EXPECT_EQ(count(panel, "stroke-width=\"1.1\""), 2u) << "two series in the panel";
  EXPECT_GT(attr(panel, "data-points"), 2 * 2000);
  EXPECT_LE(attr(panel, "data-points"), 2 * 4000);
  EXPECT_GT(attr(price, "data-points"), attr(panel, "data-points") / 2) << "price + sma";
  EXPECT_NE(dom.find("</i>sma</span>"), std::string::npos) << "legend of the price chart";
  EXPECT_NE(dom.find("</i>rsi</span>"), std::string::npos) << "legend of the panel";
  EXPECT_NE(dom.find(">RSI</h2>"), std::string::npos) << "the panel's title";
}

TEST_F(Report, SweepHeatMapRendersInChromium) {
  // A 4 x 3 grid of fast x slow, twice over (fraction 1 and 0.5), ranked by a made-up Sharpe.
  sweep_html_input in;
  in.title = "SMA sweep";
  in.metric = "sharpe";
  in.param_names = {"fast", "slow", "fraction"};
  for (const double fraction : {1.0, 0.5})
    for (const int fast : {5, 10, 20, 40})
      for (const int slow : {60, 120, 240}) {
        sweep_html_input::row row;
        row.params = {std::to_string(fast), std::to_string(slow), fraction == 1.0 ? "1" : "0.5"};
        row.param_numeric = {double(fast), double(slow), fraction};
        row.metrics = {{"sharpe", fraction * (1.0 - std::abs(fast - 10) / 20.0) * slow / 120.0},
                       {"trades", double(1000 / fast)}};
        in.rows.push_back(row);
      }
  std::stable_sort(in.rows.begin(), in.rows.end(), [](const auto& a, const auto& b) {
    return a.metrics[0].second > b.metrics[0].second;
  });
  in.notes = {{"Walk-forward", "3 folds, out-of-sample Sharpe 0.84"}};
  // Two walk-forward folds: 30 in-sample points then 10 out-of-sample ones each.
  for (int k = 0; k < 2; ++k) {
    sweep_html_input::fold f;
    f.title = "Fold " + std::to_string(k + 1) + ": fast=10 slow=120";
    const int64_t day = 86'400'000'000'000;
    for (int i = 0; i < 30; ++i) f.in_sample.emplace_back(day * (19'000 + i), 0.5 * i);
    for (int i = 0; i < 10; ++i) f.out_of_sample.emplace_back(day * (19'030 + i), -0.3 * i);
    f.in_sample_value = 1.5;
    f.out_of_sample_value = -0.4;
    in.folds.push_back(f);
  }
  const fs::path file = dir_ / "sweep.html";
  test::write_file(file, render_sweep_html(in));
  const std::string dom = dump_dom(file);
  ASSERT_NE(dom.find("data-rendered=\"ok\""), std::string::npos)
      << dom.substr(0, std::min<size_t>(dom.size(), 400));
  const std::string svg = svg_of(dom, "heatmap-svg");
  EXPECT_EQ(attr(svg, "data-points"), 12);   // one cell per (fast, slow)
  EXPECT_GE(count(svg, "<rect"), 12u + 1u);  // the cells and the legend
  EXPECT_NE(svg.find("linearGradient"), std::string::npos);
  for (const char* id : {"fold-1-svg", "fold-2-svg"}) {
    const std::string fold = svg_of(dom, id);
    EXPECT_EQ(attr(fold, "data-points"), 40) << id;  // both curves drawn
    EXPECT_EQ(count(fold, "<path"), 2u) << id;
  }
}

}  // namespace
}  // namespace cats
