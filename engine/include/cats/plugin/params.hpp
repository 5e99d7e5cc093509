// A strategy's parameters from the config, checked against what its plugin declares.
#pragma once

#include <string>

#include "cats/config/config.hpp"
#include "cats/core/params.hpp"
#include "cats/plugin/loader.hpp"

namespace cats {

/// The strategy's parameters checked against what the plugin declares, with defaults filled in.
/// Throws config_error naming the offending key.
param_set build_params(const strategy_section& s, const plugin_library& lib);

/// Parses a parameter default as the plugin declares it (a TOML literal) into `out`.
bool parse_param_default(const plugin_library::param_info& spec, param_set::entry& out,
                         std::string& error);

}  // namespace cats
