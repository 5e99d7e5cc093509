// The SDK as plugin authors get it: installed into a prefix, found with find_package(CatsSdk),
// the template built out of tree, and the resulting .so run by the engine.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;
using test::run;

TEST(SdkInstall, TemplateBuildsOutOfTreeAndRuns) {
  test::temp_dir d;
  const fs::path prefix = d / "prefix";
  test::run_result r = run(
      {CATS_CMAKE, "--install", CATS_BUILD_DIR, "--prefix", prefix.string(), "--component", "sdk"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* f :
       {"include/cats/sdk.h", "include/cats/strategy.hpp", "include/cats/detail/glue.hpp",
        "lib/cmake/CatsSdk/CatsSdkConfig.cmake", "lib/cmake/CatsSdk/CatsSdkConfigVersion.cmake",
        "lib/cmake/CatsSdk/CatsSdkFunctions.cmake", "share/cats/template/CMakeLists.txt"})
    EXPECT_TRUE(fs::exists(prefix / f)) << f;

  // Build the installed copy of the template, as a plugin author would.
  const fs::path build = d / "build";
  r = run({CATS_CMAKE, "-S", (prefix / "share/cats/template").string(), "-B", build.string(), "-G",
           "Ninja", "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_PREFIX_PATH=" + prefix.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = run({CATS_CMAKE, "--build", build.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const fs::path so = build / "channel_breakout.so";
  ASSERT_TRUE(fs::exists(so));

  r = run({CATS_BINARY, "plugins", "inspect", so.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("channel_breakout 1.0.0  (ABI " + test::abi_version() + ")"),
            std::string::npos)
      << r.out;

  const fs::path data = d / "bars.csv";
  r = run({CATS_BINARY, "generate", "--out", data.string(), "--days", "30", "--interval", "1h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path cfg = d / "breakout.toml";
  test::write_file(cfg,
                   "[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                   "files = [\"" +
                       data.string() +
                       "\"]\nlot_size = \"0.00001\"\n"
                       "[[strategy]]\nname = \"breakout\"\nplugin = \"" +
                       so.string() +
                       "\"\n"
                       "[strategy.params]\nentry = 24\nexit = 12\n");
  r = run({CATS_BINARY, "backtest", "--config", cfg.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"plugin\": \"channel_breakout\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"bars\": 720"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"trades\": 0,"), std::string::npos) << "the template never traded";
}

TEST(SdkInstall, PackageRefusesAnotherMajorVersion) {
  test::temp_dir d;
  const fs::path prefix = d / "prefix";
  ASSERT_EQ(run({CATS_CMAKE, "--install", CATS_BUILD_DIR, "--prefix", prefix.string(),
                 "--component", "sdk"})
                .exit_code,
            0);
  const fs::path src = d / "src";
  fs::create_directories(src);
  test::write_file(src / "CMakeLists.txt",
                   "cmake_minimum_required(VERSION 3.25)\nproject(p LANGUAGES CXX)\n"
                   "find_package(CatsSdk 2.0 REQUIRED)\n");
  const test::run_result r = run({CATS_CMAKE, "-S", src.string(), "-B", (d / "b").string(),
                                  "-DCMAKE_PREFIX_PATH=" + prefix.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("CatsSdk"), std::string::npos);
}

}  // namespace
}  // namespace cats
