#include "cats/plugin/loader.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/dll/shared_library.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "cats/config/config.hpp"
#include "cats/core/events.hpp"
#include "cats/version.hpp"

namespace cats {

namespace fs = std::filesystem;

struct plugin_library::impl {
  boost::dll::shared_library lib;
};

namespace {

// The smallest descriptor an ABI 1.x plugin may have: everything up to last_error.
constexpr size_t min_descriptor_size = offsetof(cats_strategy_descriptor_t, last_error) +
                                       sizeof(cats_strategy_descriptor_t::last_error);

// Why a file is not a loadable library, in the user's terms.
std::string describe_unloadable(const fs::path& file, const std::string& system_message) {
  std::ifstream in(file, std::ios::binary);
  std::array<char, 4> magic{};
  if (in.read(magic.data(), 4) && std::memcmp(magic.data(),
                                              "\x7f"
                                              "ELF",
                                              4) != 0)
    return "not a shared library (no ELF header)";
  return "cannot be loaded as a shared library: " + system_message;
}

// Copies `from` to the new file `to` (0600). O_EXCL | O_NOFOLLOW: a file or link already at `to`
// is refused, never written through. Returns "" or what went wrong.
std::string copy_private(const fs::path& from, const fs::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return std::string("cannot read it: ") + std::strerror(errno);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    const int err = errno;
    ::close(in);
    return std::strerror(err);
  }
  std::array<char, 1 << 16> buf;
  std::string why;
  for (;;) {
    const ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = std::string("read: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        why = std::string("write: ") + std::strerror(errno);
        break;
      }
      done += w;
    }
    if (!why.empty()) break;
  }
  ::close(in);
  if (::close(out) != 0 && why.empty()) why = std::string("close: ") + std::strerror(errno);
  if (!why.empty()) ::unlink(to.c_str());
  return why;
}

}  // namespace

plugin_library::~plugin_library() = default;

std::shared_ptr<plugin_library> plugin_library::load_copy(const fs::path& file,
                                                          const fs::path& private_dir,
                                                          std::string& error) {
  static std::atomic<uint64_t> copies{0};
  const fs::path copy =
      private_dir / (file.stem().string() + "." + std::to_string(copies.fetch_add(1) + 1) + ".so");
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    error = "plugin " + file.string() + ": " +
            (fs::exists(file, ec) ? "not a regular file" : "no such file");
    return nullptr;
  }
  if (const std::string why = copy_private(file, copy); !why.empty()) {
    error =
        "plugin " + file.string() + ": cannot copy it to " + copy.string() + " for loading: " + why;
    return nullptr;
  }
  auto lib = load(copy, error);
  fs::remove(copy, ec);  // mapped now (or refused): the copy is not needed any more
  for (size_t at; (at = error.find(copy.string())) != std::string::npos;)
    error.replace(at, copy.string().size(), file.string());
  if (lib) lib->source_ = file;
  return lib;
}

namespace {

std::mutex private_dir_mutex;
fs::path private_dir;  // guarded by private_dir_mutex; empty until first use

}  // namespace

fs::path private_plugin_dir() {
  const std::lock_guard<std::mutex> lock(private_dir_mutex);
  if (!private_dir.empty()) return private_dir;
  std::string pattern = (fs::temp_directory_path() / "cats-plugins-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create a private folder for plugin copies (" + pattern +
                             "): " + std::strerror(errno));
  private_dir = pattern;
  return private_dir;
}

void remove_private_plugin_dir() noexcept {
  const std::lock_guard<std::mutex> lock(private_dir_mutex);
  if (private_dir.empty()) return;
  std::error_code ec;
  fs::remove_all(private_dir, ec);
  private_dir.clear();
}

std::shared_ptr<plugin_library> plugin_library::load(const fs::path& file, std::string& error) {
  const std::string where = "plugin " + file.string() + ": ";
  std::error_code fec;
  if (!fs::is_regular_file(file, fec)) {
    error = where + (fs::exists(file, fec) ? "not a regular file" : "no such file");
    return nullptr;
  }
  std::shared_ptr<plugin_library> p(new plugin_library());
  p->impl_ = std::make_unique<impl>();
  p->path_ = file;
  p->source_ = file;
  boost::dll::fs::error_code ec;
  // RTLD_LOCAL: plugins never see each other's symbols. RTLD_NOW: fail here, not mid-run.
  p->impl_->lib.load(file, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now, ec);
  if (ec) {
    const char* dl = dlerror();
    error = where + describe_unloadable(file, dl != nullptr ? dl : ec.message());
    return nullptr;
  }
  if (!p->impl_->lib.has(CATS_ENTRY_SYMBOL)) {
    error = where + "no entry symbol '" CATS_ENTRY_SYMBOL
                    "' (build strategies with CATS_EXPORT_STRATEGY and cats_add_strategy)";
    return nullptr;
  }
  auto entry =
      p->impl_->lib.get<const cats_strategy_descriptor_t*(uint32_t, uint32_t)>(CATS_ENTRY_SYMBOL);
  const cats_strategy_descriptor_t* d = entry(CATS_ABI_MAJOR, CATS_ABI_MINOR);
  if (d == nullptr) {
    error = where + "the plugin declined this host (ABI " + abi_version_string() +
            "): its entry point returned no descriptor";
    return nullptr;
  }
  const std::string why = check_descriptor(*d, p->desc_, p->params_);
  if (!why.empty()) {
    error = where + why;
    return nullptr;
  }
  return p;
}

namespace {
// A plugin's strings are read by length: these bounds keep a corrupt length from making the host
// read (or copy) far beyond what the plugin holds.
constexpr uint64_t max_name_bytes = 256;
constexpr uint64_t max_text_bytes = 4096;
constexpr uint32_t max_params = 1024;
constexpr uint32_t max_param_spec_size = 4096;

// "" or why `s` (the descriptor field `what`) is too long.
std::string too_long(cats_str_t s, uint64_t limit, const std::string& what) {
  if (s.data == nullptr || s.size <= limit) return {};
  return what + " is " + std::to_string(s.size) + " bytes long (at most " + std::to_string(limit) +
         ")";
}
}  // namespace

std::string plugin_library::check_descriptor(const cats_strategy_descriptor_t& d,
                                             cats_strategy_descriptor_t& out,
                                             std::vector<param_info>& params) {
  out = cats_strategy_descriptor_t{};
  params.clear();
  if (d.struct_size < min_descriptor_size)
    return "descriptor too small: " + std::to_string(d.struct_size) +
           " bytes, ABI 1.0 needs at least " + std::to_string(min_descriptor_size);
  if (d.abi_major != CATS_ABI_MAJOR)
    return "built for ABI major " + std::to_string(d.abi_major) + ", this engine speaks ABI " +
           abi_version_string() + "; rebuild the plugin against SDK " +
           std::to_string(CATS_ABI_MAJOR) + ".x";
  if (d.abi_minor > CATS_ABI_MINOR)
    return "needs ABI " + std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor) +
           " but this engine is older (ABI " + abi_version_string() +
           "); upgrade the engine or rebuild against an older SDK";
  // A plugin compiled with a newer header that asks only for this host's minor may have a longer
  // descriptor; the fields this host does not know are ignored (the minor check above already
  // refused every plugin that needs them). Fields it lacks stay zero.
  cats_strategy_descriptor_t desc{};
  std::memcpy(&desc, &d, std::min<size_t>(d.struct_size, sizeof desc));
  const char* missing = desc.create == nullptr       ? "create"
                        : desc.destroy == nullptr    ? "destroy"
                        : desc.on_event == nullptr   ? "on_event"
                        : desc.last_error == nullptr ? "last_error"
                                                     : nullptr;
  if (missing != nullptr)
    return std::string("descriptor has no '") + missing + "' function (required)";
  if (desc.name.size == 0 || desc.name.data == nullptr) return "descriptor has no name (required)";
  for (const std::string& why : {too_long(desc.name, max_name_bytes, "the name"),
                                 too_long(desc.version, max_name_bytes, "the version"),
                                 too_long(desc.description, max_text_bytes, "the description")})
    if (!why.empty()) return "descriptor: " + why;
  std::vector<param_info> list;
  if (desc.param_count > 0) {
    const std::string declares =
        "descriptor declares " + std::to_string(desc.param_count) + " parameters";
    constexpr size_t min_stride = offsetof(cats_param_spec_t, description) + sizeof(cats_str_t);
    if (desc.params == nullptr) return declares + " but no table";
    if (desc.param_count > max_params)
      return declares + ", at most " + std::to_string(max_params) + " are allowed";
    if (desc.param_spec_size < min_stride || desc.param_spec_size > max_param_spec_size ||
        desc.param_spec_size % alignof(cats_param_spec_t) != 0)
      return declares + " in a table of " + std::to_string(desc.param_spec_size) +
             "-byte entries; an entry is " + std::to_string(min_stride) + " to " +
             std::to_string(max_param_spec_size) + " bytes, a multiple of " +
             std::to_string(alignof(cats_param_spec_t));
    const auto* base = reinterpret_cast<const unsigned char*>(desc.params);
    for (uint32_t i = 0; i < desc.param_count; ++i) {
      // Copied out: the table's address is the plugin's and need not be aligned.
      cats_param_spec_t entry;
      std::memcpy(&entry, base + static_cast<size_t>(i) * desc.param_spec_size, sizeof entry);
      const cats_param_spec_t* s = &entry;
      const std::string which = "parameter #" + std::to_string(i + 1);
      for (const std::string& why :
           {too_long(s->name, max_name_bytes, which + "'s name"),
            too_long(s->default_value, max_text_bytes, which + "'s default"),
            too_long(s->description, max_text_bytes, which + "'s description")})
        if (!why.empty()) return "descriptor: " + why;
      // The type is checked as the integer it travels as, before it becomes an enum.
      if (s->type < CATS_PARAM_BOOL || s->type > CATS_PARAM_STRING)
        return which + " has an unknown type " + std::to_string(s->type);
      param_info info{to_string(s->name), static_cast<cats_param_type>(s->type),
                      to_string(s->default_value), to_string(s->description)};
      if (info.name.empty()) return which + " has no name";
      list.push_back(std::move(info));
    }
  }
  out = desc;
  params = std::move(list);
  return {};
}

std::string plugin_library::name() const {
  return to_string(desc_.name);
}
std::string plugin_library::version() const {
  return to_string(desc_.version);
}
std::string plugin_library::description() const {
  return to_string(desc_.description);
}

fs::path resolve_plugin(const std::string& plugin, const fs::path& dir, std::string& error) {
  std::error_code ec;
  if (is_plugin_path(plugin)) {
    fs::path p(plugin);
    if (p.is_relative() && !fs::exists(p, ec)) p = dir / p;
    if (fs::exists(p, ec)) return p;
    error = "plugin file " + plugin + " does not exist";
    return {};
  }
  for (const std::string& candidate : {plugin + ".so", "lib" + plugin + ".so"}) {
    const fs::path p = dir / candidate;
    if (fs::exists(p, ec)) return p;
  }
  error = "no plugin '" + plugin + "' in " + dir.string() + " (looked for " + plugin +
          ".so and lib" + plugin + ".so)";
  if (!fs::is_directory(dir, ec)) error += "; that folder does not exist";
  return {};
}

fs::path default_plugin_dir() {
  // CATS_PLUGIN_DIR first: the Python module sets it to the folder next to itself, because its
  // executable is the interpreter.
  if (const char* env = std::getenv("CATS_PLUGIN_DIR"); env != nullptr && *env != '\0')
    return fs::path(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fs::path("plugins");
  return (exe.parent_path() / ".." / "lib" / "cats" / "plugins").lexically_normal();
}

const char* param_type_name(int32_t type) noexcept {
  switch (type) {
    case CATS_PARAM_BOOL:
      return "bool";
    case CATS_PARAM_INT:
      return "int";
    case CATS_PARAM_FLOAT:
      return "float";
    case CATS_PARAM_STRING:
      return "string";
    default:
      return "unknown";
  }
}

}  // namespace cats
