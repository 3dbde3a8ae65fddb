#pragma once
// gitignore-syntax matcher for fs-monitor's ignore file.

#include <string>
#include <string_view>
#include <vector>

namespace ef::fsmon {

/// One parsed ignore line.
struct IgnorePattern {
  std::string glob;       ///< the pattern without '!', trailing '/', leading '/' (escapes kept)
  bool negate = false;    ///< line started with '!'
  bool dir_only = false;  ///< line ended with '/'
  bool anchored = false;  ///< contained a '/' before its end: matched against the whole relative path
  int line = 0;
};

/// Rules parsed from gitignore syntax (gitignore(5)):
///  blank lines and lines starting with '#' are skipped ('\#' is a literal '#');
///  trailing spaces are dropped unless escaped with '\'; '!' negates ('\!' is literal);
///  a trailing '/' matches directories only; a '/' at the start or middle anchors the
///  pattern to the root, otherwise it matches the name at any depth;
///  '*' matches anything but '/', '?' one character but '/', '[...]' a class
///  ('!' or '^' negates, ranges, [:alpha:] etc.); '**/' leading, '/**' trailing and
///  '/**/' inner match any number of directories; '\x' matches x literally.
/// The last matching pattern wins; a path inside an ignored directory stays ignored
/// (as in git, a negation cannot re-include it).
class IgnoreRules {
 public:
  IgnoreRules() = default;
  /// Parses the text of an ignore file. Never throws: a malformed class is literal text.
  static IgnoreRules parse(std::string_view text);

  /// Whether `rel_path` (relative to the root, '/'-separated, no leading '/') is ignored.
  /// `is_dir` says whether the path itself is a directory; its parents are checked too.
  bool ignored(std::string_view rel_path, bool is_dir) const;

  /// Only the path itself (parents not checked): the last matching pattern's verdict.
  bool matches_self(std::string_view rel_path, bool is_dir) const;

  const std::vector<IgnorePattern>& patterns() const { return patterns_; }
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<IgnorePattern> patterns_;
};

/// git's wildmatch with WM_PATHNAME: '*' and '?' never match '/', '**' between
/// slashes matches across them. Exposed for tests.
bool wildmatch(std::string_view pattern, std::string_view text);

}  // namespace ef::fsmon
