// Loading strategy plugins: open the shared library, find the one entry symbol, check the ABI
// before anything else is called, and keep a zero-filled host-side copy of the descriptor.
#pragma once

#include <cats/sdk.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cats/core/engine.hpp"

namespace cats {

class plugin_library final : public strategy_module {
 public:
  /// Loads and checks a plugin. On failure returns null and sets `error` to a message that names
  /// the file and the reason.
  static std::shared_ptr<plugin_library> load(const std::filesystem::path& file,
                                              std::string& error);
  /// The same from a private copy of `file` in `private_dir`, removed again once it is mapped:
  /// replacing `file` later (a new build, written in place) cannot touch the loaded code, and the
  /// dynamic loader, which caches by path, really loads the new file next time. Messages name
  /// `file`; source() is `file`.
  static std::shared_ptr<plugin_library> load_copy(const std::filesystem::path& file,
                                                   const std::filesystem::path& private_dir,
                                                   std::string& error);
  ~plugin_library() override;
  plugin_library(const plugin_library&) = delete;
  plugin_library& operator=(const plugin_library&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  /// The file it was loaded from (the original of a private copy).
  const std::filesystem::path& source() const noexcept override { return source_; }
  const cats_strategy_descriptor_t& descriptor() const noexcept override { return desc_; }
  std::string name() const override;
  std::string version() const override;
  std::string description() const;
  /// The declared parameters (empty if none), copied out of the plugin.
  struct param_info {
    std::string name;
    cats_param_type type;
    std::string default_value;  ///< TOML literal; empty = required
    std::string description;
  };
  const std::vector<param_info>& params() const noexcept { return params_; }

  /// The checks load() makes on a plugin's descriptor before anything in it is called: the size,
  /// the ABI, the required functions, the name, bounded string lengths and the parameter table.
  /// Returns "" and sets `out` (a zero-filled host-side copy) and `params`, or the reason (the
  /// file is not named). Reads at most `d.struct_size` bytes of `d`.
  static std::string check_descriptor(const cats_strategy_descriptor_t& d,
                                      cats_strategy_descriptor_t& out,
                                      std::vector<param_info>& params);

 private:
  plugin_library() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
  std::filesystem::path path_;
  std::filesystem::path source_;
  cats_strategy_descriptor_t desc_{};
  std::vector<param_info> params_;
};

/// "ma_crossover" -> "<dir>/ma_crossover.so" (or lib<name>.so); a name with a '/' or ending in
/// ".so" is a path. Returns an empty path and an explanation when nothing matches.
std::filesystem::path resolve_plugin(const std::string& plugin, const std::filesystem::path& dir,
                                     std::string& error);

/// This process's folder for private plugin copies: $TMPDIR/cats-plugins-XXXXXX, made by mkdtemp
/// on first use (a fresh name, mode 0700, never one that already existed, so no other local user
/// can place or swap a file in it). Throws std::runtime_error if it cannot be made. Remove it with
/// remove_private_plugin_dir() when done.
std::filesystem::path private_plugin_dir();
void remove_private_plugin_dir() noexcept;

/// Where plugins live by default: <dir of the cats executable>/../lib/cats/plugins.
std::filesystem::path default_plugin_dir();

const char* param_type_name(int32_t type) noexcept;

}  // namespace cats
