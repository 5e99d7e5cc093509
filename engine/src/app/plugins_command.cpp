// cats plugins list | inspect: what a plugin folder or file holds.
#include <algorithm>
#include <cstdio>

#include "cats/plugin/loader.hpp"
#include "cats/util/logging.hpp"
#include "cli.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

namespace {

void print_plugin(const cats::plugin_library& lib, bool details) {
  const auto& d = lib.descriptor();
  std::printf("%s %s  (ABI %u.%u)  %s\n", lib.name().c_str(), lib.version().c_str(), d.abi_major,
              d.abi_minor, lib.path().string().c_str());
  if (!details) return;
  if (!lib.description().empty()) std::printf("  %s\n", lib.description().c_str());
  if (lib.params().empty()) {
    std::printf("  parameters: none declared\n");
    return;
  }
  std::printf("  parameters:\n");
  for (const auto& p : lib.params())
    std::printf("    %-14s %-7s default %-18s %s\n", p.name.c_str(), cats::param_type_name(p.type),
                p.default_value.empty() ? "(required)" : p.default_value.c_str(),
                p.description.c_str());
}

}  // namespace

int plugins_command(const std::vector<std::string>& args) {
  std::string action, target, dir;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("action", po::value(&action)->required(),
                                                 "list | inspect")("target", po::value(&target),
                                                                   "plugin file (inspect)")(
      "dir", po::value(&dir), "plugin folder (list; default: the installed plugin folder)");
  po::positional_options_description pos;
  pos.add("action", 1).add("target", 1);
  po::variables_map vm;
  const char* usage = "usage: cats plugins list [--dir DIR] | cats plugins inspect FILE";
  if (auto rc = parse(args, desc, &pos, vm, usage)) return *rc;
  std::string err;
  if (!cats::setup_logging("warn", {}, err)) return usage_error(err);
  if (action == "inspect") {
    if (target.empty()) return usage_error(std::string("inspect needs a plugin file\n") + usage);
    auto lib = cats::plugin_library::load(target, err);
    if (!lib) {
      std::fprintf(stderr, "cats: %s\n", err.c_str());
      return exit_failure;
    }
    print_plugin(*lib, true);
    return exit_ok;
  }
  if (action != "list") return usage_error("unknown action '" + action + "'\n" + usage);
  const fs::path folder = dir.empty() ? cats::default_plugin_dir() : fs::path(dir);
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return usage_error(folder.string() + ": not a folder");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.path().extension() == ".so") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  int rc = exit_ok;
  for (const fs::path& f : files) {
    auto lib = cats::plugin_library::load(f, err);
    if (lib) {
      print_plugin(*lib, false);
    } else {
      std::printf("refused: %s\n", err.c_str());
      rc = exit_failure;
    }
  }
  if (files.empty()) std::printf("no plugins in %s\n", folder.string().c_str());
  return rc;
}

}  // namespace cats::cli
