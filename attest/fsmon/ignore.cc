#include "attest/fsmon/ignore.h"

#include <cctype>
#include <cstring>

namespace ef::fsmon {
namespace {

enum Result { kNoMatch = 0, kMatch = 1, kAbortAll = -1, kAbortToStarStar = -2 };

// A port of git's wildmatch.c dowild() with WM_PATHNAME (case-sensitive).
// Indices instead of NUL-terminated pointers; at() yields '\0' past the end.
class Matcher {
 public:
  Matcher(std::string_view p, std::string_view t) : p_(p), t_(t) {}

  int dowild(std::size_t pi, std::size_t ti) const {
    for (; pi < p_.size(); ++pi, ++ti) {
      unsigned char pc = static_cast<unsigned char>(p_[pi]);
      if (ti >= t_.size() && pc != '*') return kAbortAll;
      unsigned char tc = ti < t_.size() ? static_cast<unsigned char>(t_[ti]) : 0;
      switch (pc) {
        case '\\':
          ++pi;
          if (pi >= p_.size()) return kNoMatch;  // a lone trailing backslash matches nothing
          if (tc != static_cast<unsigned char>(p_[pi])) return kNoMatch;
          break;
        case '?':
          if (tc == '/') return kNoMatch;
          break;
        case '*': {
          bool match_slash = false;
          std::size_t star = pi;
          ++pi;
          if (pi < p_.size() && p_[pi] == '*') {
            while (pi < p_.size() && p_[pi] == '*') ++pi;
            bool before_ok = star == 0 || p_[star - 1] == '/';
            bool after_ok = pi >= p_.size() || p_[pi] == '/' ||
                            (p_[pi] == '\\' && pi + 1 < p_.size() && p_[pi + 1] == '/');
            if (before_ok && after_ok) {
              if (pi < p_.size() && p_[pi] == '/' && dowild(pi + 1, ti) == kMatch) return kMatch;
              match_slash = true;
            }
          }
          if (pi >= p_.size()) {
            // Trailing star: matches the rest unless it holds a '/' and the star is single.
            if (!match_slash && t_.find('/', ti) != std::string_view::npos) return kAbortToStarStar;
            return kMatch;
          }
          if (!match_slash && p_[pi] == '/') {
            // One star followed by '/': matches the rest of this path component.
            auto slash = t_.find('/', ti);
            if (slash == std::string_view::npos) return kAbortAll;
            ti = slash;
            // pi now points at '/', which the loop compares with the text's '/'.
            if (t_[ti] != '/') return kNoMatch;
            continue;
          }
          for (;; ++ti) {
            if (ti >= t_.size()) break;
            int m = dowild(pi, ti);
            if (m != kNoMatch) {
              if (!match_slash || m != kAbortToStarStar) return m;
            } else if (!match_slash && t_[ti] == '/') {
              return kAbortToStarStar;
            }
          }
          return kAbortAll;
        }
        case '[': {
          if (++pi >= p_.size()) return kAbortAll;
          unsigned char c = static_cast<unsigned char>(p_[pi]);
          if (c == '^') c = '!';
          bool negated = c == '!';
          if (negated) {
            if (++pi >= p_.size()) return kAbortAll;
            c = static_cast<unsigned char>(p_[pi]);
          }
          unsigned char prev = 0;
          bool matched = false;
          do {
            if (pi >= p_.size()) return kAbortAll;
            if (c == '\\') {
              if (++pi >= p_.size()) return kAbortAll;
              c = static_cast<unsigned char>(p_[pi]);
              if (tc == c) matched = true;
            } else if (c == '-' && prev && pi + 1 < p_.size() && p_[pi + 1] != ']') {
              c = static_cast<unsigned char>(p_[++pi]);
              if (c == '\\') {
                if (++pi >= p_.size()) return kAbortAll;
                c = static_cast<unsigned char>(p_[pi]);
              }
              if (tc <= c && tc >= prev) matched = true;
              c = 0;  // the next prev is 0: "a-c-e" has no range c-e
            } else if (c == '[' && pi + 1 < p_.size() && p_[pi + 1] == ':') {
              std::size_t s = pi + 2;
              std::size_t q = s;
              while (q < p_.size() && p_[q] != ']') ++q;
              if (q >= p_.size()) return kAbortAll;
              if (q == s || p_[q - 1] != ':') {
                // No ":]": an ordinary '['.
                c = '[';
                if (tc == c) matched = true;
              } else {
                std::string_view cls = p_.substr(s, q - 1 - s);
                pi = q;
                if (!class_match(cls, tc, matched)) return kAbortAll;
                c = 0;
              }
            } else if (tc == c) {
              matched = true;
            }
            prev = c;
            if (++pi >= p_.size()) return kAbortAll;
            c = static_cast<unsigned char>(p_[pi]);
          } while (c != ']');
          if (matched == negated || tc == '/') return kNoMatch;
          break;
        }
        default:
          if (tc != pc) return kNoMatch;
          break;
      }
    }
    return ti >= t_.size() ? kMatch : kNoMatch;
  }

 private:
  static bool class_match(std::string_view cls, unsigned char tc, bool& matched) {
    int (*fn)(int) = nullptr;
    if (cls == "alnum") fn = isalnum;
    else if (cls == "alpha") fn = isalpha;
    else if (cls == "blank") fn = isblank;
    else if (cls == "cntrl") fn = iscntrl;
    else if (cls == "digit") fn = isdigit;
    else if (cls == "graph") fn = isgraph;
    else if (cls == "lower") fn = islower;
    else if (cls == "print") fn = isprint;
    else if (cls == "punct") fn = ispunct;
    else if (cls == "space") fn = isspace;
    else if (cls == "upper") fn = isupper;
    else if (cls == "xdigit") fn = isxdigit;
    else return false;  // a malformed [:class:] matches nothing
    if (tc < 128 && fn(tc)) matched = true;
    return true;
  }

  std::string_view p_;
  std::string_view t_;
};

// git's trim_trailing_spaces: drop unescaped trailing spaces.
std::string_view trim_trailing_spaces(std::string_view s) {
  std::size_t end = s.size();
  std::size_t last_space = std::string_view::npos;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ') {
      if (last_space == std::string_view::npos) last_space = i;
    } else {
      last_space = std::string_view::npos;
      if (s[i] == '\\' && i + 1 < s.size()) ++i;  // the escaped char is kept
    }
  }
  if (last_space != std::string_view::npos) end = last_space;
  return s.substr(0, end);
}

}  // namespace

bool wildmatch(std::string_view pattern, std::string_view text) {
  return Matcher(pattern, text).dowild(0, 0) == kMatch;
}

IgnoreRules IgnoreRules::parse(std::string_view text) {
  IgnoreRules rules;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto z = line.find('\0'); z != std::string_view::npos) line = line.substr(0, z);
    if (line.empty() || line[0] == '#') continue;
    line = trim_trailing_spaces(line);
    IgnorePattern p;
    p.line = line_no;
    if (!line.empty() && line[0] == '!') {
      p.negate = true;
      line.remove_prefix(1);
    }
    if (!line.empty() && line.back() == '/') {
      // A trailing '/' that is not itself escaped ("foo\/" is odd but literal).
      std::size_t bs = 0;
      for (std::size_t i = line.size() - 1; i > 0 && line[i - 1] == '\\'; --i) ++bs;
      if (bs % 2 == 0) {
        p.dir_only = true;
        line.remove_suffix(1);
      }
    }
    if (line.empty()) continue;
    // Any '/' left (leading or middle) anchors the pattern to the root.
    if (line.find('/') != std::string_view::npos) p.anchored = true;
    if (line[0] == '/') line.remove_prefix(1);
    if (line.empty()) continue;
    p.glob = std::string(line);
    rules.patterns_.push_back(std::move(p));
  }
  return rules;
}

bool IgnoreRules::matches_self(std::string_view rel_path, bool is_dir) const {
  std::string_view base = rel_path;
  if (auto slash = rel_path.rfind('/'); slash != std::string_view::npos) base = rel_path.substr(slash + 1);
  for (auto it = patterns_.rbegin(); it != patterns_.rend(); ++it) {
    if (it->dir_only && !is_dir) continue;
    if (wildmatch(it->glob, it->anchored ? rel_path : base)) return !it->negate;
  }
  return false;
}

bool IgnoreRules::ignored(std::string_view rel_path, bool is_dir) const {
  if (patterns_.empty() || rel_path.empty()) return false;
  for (std::size_t slash = rel_path.find('/'); slash != std::string_view::npos;
       slash = rel_path.find('/', slash + 1)) {
    if (matches_self(rel_path.substr(0, slash), true)) return true;
  }
  return matches_self(rel_path, is_dir);
}

}  // namespace ef::fsmon
