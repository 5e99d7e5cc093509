// Every refusal of the plugin loader, each provoked by a purpose-made plugin, and what happens
// when a loaded strategy fails at run time.
#include "cats/plugin/loader.hpp"

#include <gtest/gtest.h>

#include "cats/config/config.hpp"
#include "cats/core/engine.hpp"
#include "cats/plugin/params.hpp"
#include "test_util.hpp"
#include "unit/config_values.hpp"

namespace cats {
namespace {

std::string plugin(const std::string& name) {
  return std::string(CATS_TEST_PLUGIN_DIR) + "/" + name + ".so";
}

std::string refusal(const std::string& file) {
  std::string err;
  auto lib = plugin_library::load(file, err);
  EXPECT_FALSE(lib) << file << " loaded but should not have";
  return err;
}

TEST(PluginLoader, LoadsAGoodCPlugin) {
  std::string err;
  auto lib = plugin_library::load(plugin("c_strategy_good"), err);
  ASSERT_TRUE(lib) << err;
  EXPECT_EQ(lib->name(), "c_strategy");
  EXPECT_EQ(lib->version(), "0.1.0");
  EXPECT_EQ(lib->description(), "a strategy in plain C");
  ASSERT_EQ(lib->params().size(), 3u);
  EXPECT_EQ(lib->params()[0].name, "fail_at_bar");
  EXPECT_EQ(lib->params()[0].type, CATS_PARAM_INT);
  EXPECT_EQ(lib->descriptor().abi_major, 1u);
}

TEST(PluginLoader, LoadsTheReferencePlugin) {
  std::string err;
  auto lib = plugin_library::load(std::string(CATS_PLUGIN_DIR) + "/ma_crossover.so", err);
  ASSERT_TRUE(lib) << err;
  EXPECT_EQ(lib->name(), "ma_crossover");
  ASSERT_EQ(lib->params().size(), 6u);
  EXPECT_EQ(lib->params()[5].name, "timeframe");
  EXPECT_EQ(lib->params()[0].name, "fast");
  EXPECT_EQ(lib->params()[0].default_value, "10");
  EXPECT_EQ(lib->params()[1].default_value, "30");
}

TEST(PluginLoader, RefusesAFileThatIsNotALibrary) {
  test::temp_dir d;
  const auto f = (d / "notes.so").string();
  test::write_file(f, "this is a text file\n");
  EXPECT_EQ(refusal(f), "plugin " + f + ": not a shared library (no ELF header)");
  EXPECT_EQ(refusal((d / "missing.so").string()),
            "plugin " + (d / "missing.so").string() + ": no such file");
}

TEST(PluginLoader, RefusesATruncatedLibrary) {
  test::temp_dir d;
  const std::string good = test::read_file(plugin("c_strategy_good"));
  const auto f = (d / "truncated.so").string();
  test::write_file(f, good.substr(0, 200));
  const std::string e = refusal(f);
  EXPECT_EQ(e.rfind("plugin " + f + ": cannot be loaded as a shared library: ", 0), 0u) << e;
}

TEST(PluginLoader, RefusesALibraryWithoutTheEntrySymbol) {
  EXPECT_EQ(refusal(plugin("no_entry")),
            "plugin " + plugin("no_entry") +
                ": no entry symbol 'cats_strategy_entry' (build strategies with "
                "CATS_EXPORT_STRATEGY and cats_add_strategy)");
}

// This engine's ABI version as the messages write it ("1.1").
std::string abi() {
  return std::to_string(CATS_ABI_MAJOR) + "." + std::to_string(CATS_ABI_MINOR);
}

TEST(PluginLoader, RefusesAnotherAbiMajor) {
  EXPECT_EQ(refusal(plugin("c_strategy_major")),
            "plugin " + plugin("c_strategy_major") +
                ": built for ABI major 2, this engine speaks ABI " + abi() +
                "; rebuild the plugin against SDK 1.x");
}

TEST(PluginLoader, RefusesANewerAbiMinor) {
  EXPECT_EQ(refusal(plugin("c_strategy_minor")),
            "plugin " + plugin("c_strategy_minor") + ": needs ABI 1." +
                std::to_string(CATS_ABI_MINOR + 1) + " but this engine is older (ABI " + abi() +
                "); upgrade the engine or rebuild against an older SDK");
}

TEST(PluginLoader, RefusesADescriptorThatIsTooSmall) {
  EXPECT_EQ(refusal(plugin("c_strategy_small")),
            "plugin " + plugin("c_strategy_small") +
                ": descriptor too small: 104 bytes, ABI 1.0 needs at least 144");
}

TEST(PluginLoader, RefusesADescriptorWithoutOnEvent) {
  EXPECT_EQ(refusal(plugin("c_strategy_no_on_event")),
            "plugin " + plugin("c_strategy_no_on_event") +
                ": descriptor has no 'on_event' function (required)");
}

// ---- the descriptor checks on their own (found by the descriptor fuzz target) -----------------

cats_status_t no_create(const cats_host_api_t*, cats_host_t*, const cats_params_t*,
                        cats_strategy_t**, char*, uint32_t) {
  return CATS_E_FAILED;
}
void no_destroy(cats_strategy_t*) {}
cats_status_t no_event(cats_strategy_t*, const cats_event_t*) {
  return CATS_OK;
}
cats_str_t no_error(cats_strategy_t*) {
  return {"", 0};
}

cats_strategy_descriptor_t good_descriptor() {
  cats_strategy_descriptor_t d{};
  d.struct_size = sizeof d;
  d.abi_major = CATS_ABI_MAJOR;
  d.abi_minor = 0;
  d.name = {"probe", 5};
  d.version = {"1.0", 3};
  d.create = no_create;
  d.destroy = no_destroy;
  d.on_event = no_event;
  d.last_error = no_error;
  return d;
}

std::string check(const cats_strategy_descriptor_t& d) {
  cats_strategy_descriptor_t out;
  std::vector<plugin_library::param_info> params;
  return plugin_library::check_descriptor(d, out, params);
}

TEST(PluginDescriptor, AParameterTableWithAnUnalignedStrideIsRefusedNotMisread) {
  alignas(8) unsigned char table[2 * sizeof(cats_param_spec_t) + 8] = {};
  cats_strategy_descriptor_t d = good_descriptor();
  d.params = reinterpret_cast<const cats_param_spec_t*>(table);
  d.param_count = 2;
  d.param_spec_size = sizeof(cats_param_spec_t) + 1;
  EXPECT_EQ(check(d),
            "descriptor declares 2 parameters in a table of " +
                std::to_string(sizeof(cats_param_spec_t) + 1) + "-byte entries; an entry is " +
                std::to_string(sizeof(cats_param_spec_t)) + " to 4096 bytes, a multiple of 8");
}

TEST(PluginDescriptor, AnUnknownParameterTypeIsRefusedAsTheNumberItIs) {
  cats_param_spec_t spec{};
  spec.struct_size = sizeof spec;
  spec.type = -7;
  spec.name = {"fast", 4};
  cats_strategy_descriptor_t d = good_descriptor();
  d.params = &spec;
  d.param_count = 1;
  d.param_spec_size = sizeof spec;
  EXPECT_EQ(check(d), "parameter #1 has an unknown type -7");
  spec.type = CATS_PARAM_INT;
  EXPECT_EQ(check(d), "");
}

TEST(PluginDescriptor, CorruptLengthsAreRefusedUnread) {
  static const char x = 'x';
  cats_strategy_descriptor_t d = good_descriptor();
  d.name = {&x, uint64_t{1} << 40};
  EXPECT_EQ(check(d), "descriptor: the name is 1099511627776 bytes long (at most 256)");
  d = good_descriptor();
  d.description = {&x, 5000};
  EXPECT_EQ(check(d), "descriptor: the description is 5000 bytes long (at most 4096)");
  cats_param_spec_t spec{};
  spec.type = CATS_PARAM_INT;
  spec.name = {"n", 1};
  spec.default_value = {&x, ~uint64_t{0}};
  d = good_descriptor();
  d.params = &spec;
  d.param_count = 1;
  d.param_spec_size = sizeof spec;
  EXPECT_EQ(check(d),
            "descriptor: parameter #1's default is 18446744073709551615 bytes long (at "
            "most 4096)");
  d.param_count = 100000;
  EXPECT_EQ(check(d), "descriptor declares 100000 parameters, at most 1024 are allowed");
  d.param_count = 1;
  d.params = nullptr;
  EXPECT_EQ(check(d), "descriptor declares 1 parameters but no table");
}

TEST(PluginLoader, ReportsAPluginThatDeclinesTheHost) {
  EXPECT_EQ(refusal(plugin("c_strategy_decline")),
            "plugin " + plugin("c_strategy_decline") + ": the plugin declined this host (ABI " +
                abi() + "): its entry point returned no descriptor");
}

TEST(PluginLoader, ResolvesNamesInTheFolder) {
  std::string err;
  EXPECT_EQ(resolve_plugin("probe_strategy", CATS_TEST_PLUGIN_DIR, err),
            std::filesystem::path(plugin("probe_strategy")));
  EXPECT_TRUE(resolve_plugin("nothing", CATS_TEST_PLUGIN_DIR, err).empty());
  EXPECT_EQ(err, std::string("no plugin 'nothing' in ") + CATS_TEST_PLUGIN_DIR +
                     " (looked for nothing.so and libnothing.so)");
}

// ---- run-time failures ------------------------------------------------------------------------

struct run_env {
  instrument_registry instruments;
  portfolio account{1000 * fixed_scale, "USDT"};
  engine eng{instruments, account};
  uint32_t inst = 0;
  run_env() {
    instrument_info i;
    i.symbol = "BINANCE:TEST";
    i.venue = "BINANCE";
    i.name = "TEST";
    inst = instruments.add(i);
  }
  bool add(const std::string& name, const std::string& file,
           std::vector<std::pair<std::string, config_value>> params, std::string& err) {
    auto lib = plugin_library::load(file, err);
    if (!lib) return false;
    strategy_section s;
    s.name = name;
    s.params = std::move(params);
    return eng.add_strategy(name, lib, build_params(s, *lib), err);
  }
  void bars(int n) {
    for (int k = 1; k <= n; ++k) {
      cats_bar_event_t b{};
      b.header.struct_size = sizeof b;
      b.header.type = CATS_EVENT_BAR;
      b.header.instrument_id = inst;
      b.header.exchange_ts_ns = int64_t{k} * 60'000'000'000;
      b.open = b.high = b.low = b.close = fixed_scale;
      eng.set_time(b.header.exchange_ts_ns);
      eng.dispatch(b.header);
    }
  }
};

using test::int_value;
using test::str_value;

TEST(PluginRuntime, CreateFailureCarriesTheStrategysMessage) {
  run_env env;
  std::string err;
  EXPECT_FALSE(env.add("c", plugin("c_strategy_create_fails"), {}, err));
  EXPECT_EQ(err,
            "strategy 'c' (c_strategy 0.1.0) refused to start: c strategy: cannot start "
            "without an API key (status -2)");
  EXPECT_FALSE(
      env.add("p", plugin("probe_strategy"), {{"fail_create", str_value("no API key set")}}, err));
  EXPECT_EQ(err, "strategy 'p' (probe 2.3.4) refused to start: no API key set (status -7)");
  EXPECT_TRUE(env.eng.strategies().empty());
}

TEST(PluginRuntime, AnErrorStatusDisablesOnlyThatStrategy) {
  run_env env;
  std::string err;
  ASSERT_TRUE(env.add("c", plugin("c_strategy_good"), {{"fail_at_bar", int_value(3)}}, err)) << err;
  ASSERT_TRUE(env.add("p", plugin("probe_strategy"), {}, err)) << err;
  env.eng.start();
  env.bars(5);
  const auto& s = env.eng.strategies();
  EXPECT_FALSE(s[0]->running);
  ASSERT_TRUE(s[0]->failure);
  EXPECT_EQ(s[0]->failure->where, "on_event(bar)");
  EXPECT_EQ(s[0]->failure->message, "c strategy: refused bar 3");
  EXPECT_EQ(s[0]->failure->status, CATS_E_FAILED);
  EXPECT_EQ(s[0]->failure->ts_ns, 3 * 60'000'000'000);
  EXPECT_EQ(s[0]->events, 3u);
  EXPECT_TRUE(s[1]->running);
  EXPECT_EQ(s[1]->events, 5u);
}

TEST(PluginRuntime, AnExceptionIsCaughtAtTheBoundary) {
  run_env env;
  std::string err;
  ASSERT_TRUE(env.add("p", plugin("probe_strategy"), {{"throw_at_bar", int_value(2)}}, err)) << err;
  env.eng.start();
  env.bars(4);
  const auto& s = *env.eng.strategies()[0];
  EXPECT_FALSE(s.running);
  ASSERT_TRUE(s.failure);
  EXPECT_EQ(s.failure->message, "probe: deliberate failure at bar 2");
  EXPECT_EQ(s.failure->status, CATS_E_EXCEPTION);
  EXPECT_EQ(s.events, 2u);
}

}  // namespace
}  // namespace cats
