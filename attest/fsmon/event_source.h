#pragma once
// The one seam between fs-monitor's logic and the kernel: directory watches and
// their events. inotify_source.cc is the Linux implementation; tests use a fake.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ef::fsmon {

struct FsEvent {
  enum class Type {
    kCreate,      ///< a name appeared (directories matter; files wait for kCloseWrite)
    kCloseWrite,  ///< a file opened for writing was closed
    kMovedFrom,   ///< a name left a watched directory (cookie pairs it with kMovedTo)
    kMovedTo,     ///< a name arrived in a watched directory
    kDelete,      ///< a name was removed
    kOverflow,    ///< events were lost: the state must be rebuilt by a rescan
  };
  Type type;
  std::string path;  ///< absolute; empty for kOverflow
  bool is_dir = false;
  std::uint32_t cookie = 0;
};

/// Non-recursive directory watches. Paths of events are resolved when the event
/// is taken with next(), so a rename_tree() done for an earlier event applies to
/// later ones.
class EventSource {
 public:
  virtual ~EventSource() = default;
  /// Watches one directory. False when it is gone or not a directory; throws
  /// Error when a kernel limit is reached (fs.inotify.max_user_watches).
  virtual bool add_watch(const std::string& dir) = 0;
  /// Watched directories at `from` and below now live at `to`.
  virtual void rename_tree(const std::string& from, const std::string& to) = 0;
  /// Stops watching `dir` and everything below it.
  virtual void remove_tree(const std::string& dir) = 0;
  /// The next event, or nullopt when none is ready (never blocks).
  virtual std::optional<FsEvent> next() = 0;
  /// A descriptor that polls readable when events may be ready; -1 if none.
  virtual int fd() const = 0;
  virtual std::size_t watch_count() const = 0;
};

/// The inotify implementation.
std::unique_ptr<EventSource> make_inotify_source();

}  // namespace ef::fsmon
