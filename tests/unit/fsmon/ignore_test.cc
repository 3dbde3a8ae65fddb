#include <catch2/catch.hpp>

#include "attest/fsmon/ignore.h"

using namespace ef::fsmon;

// Cases follow gitignore(5) ("PATTERN FORMAT" and its EXAMPLES) and git's
// wildmatch semantics with WM_PATHNAME.

namespace {
bool ign(const char* rules, const char* path, bool dir = false) {
  return IgnoreRules::parse(rules).ignored(path, dir);
}
}  // namespace

TEST_CASE("wildmatch basics") {
  CHECK(wildmatch("foo", "foo"));
  CHECK_FALSE(wildmatch("bar", "foo"));
  CHECK(wildmatch("???", "foo"));
  CHECK_FALSE(wildmatch("??", "foo"));
  CHECK(wildmatch("*", "foo"));
  CHECK(wildmatch("f*", "foo"));
  CHECK_FALSE(wildmatch("*f", "foo"));
  CHECK(wildmatch("*foo*", "foo"));
  CHECK(wildmatch("*ob*a*r*", "foobar"));
  CHECK(wildmatch("*ab", "aaaaaaabababab"));
  CHECK(wildmatch("foo\\*", "foo*"));
  CHECK_FALSE(wildmatch("foo\\*bar", "foobar"));
  CHECK(wildmatch("f\\\\oo", "f\\oo"));
  CHECK_FALSE(wildmatch("", "foo"));
  CHECK(wildmatch("", ""));
}

TEST_CASE("wildmatch: '*' and '?' stop at '/', '**' crosses it") {
  CHECK_FALSE(wildmatch("*", "foo/bar"));
  CHECK_FALSE(wildmatch("foo?bar", "foo/bar"));
  CHECK(wildmatch("*/bar", "foo/bar"));
  CHECK_FALSE(wildmatch("*/bar", "a/b/bar"));
  CHECK(wildmatch("**", "foo/bar/baz"));
  CHECK(wildmatch("**/foo", "foo"));
  CHECK(wildmatch("**/foo", "a/b/foo"));
  CHECK(wildmatch("**/foo/bar", "x/foo/bar"));
  CHECK_FALSE(wildmatch("**/foo/bar", "foo/x/bar"));
  CHECK(wildmatch("foo/**/bar", "foo/bar"));
  CHECK(wildmatch("foo/**/bar", "foo/baz/bar"));
  CHECK(wildmatch("foo/**/bar", "foo/b/a/z/bar"));
  CHECK_FALSE(wildmatch("foo/**/bar", "foo/barx"));
  CHECK(wildmatch("abc/**", "abc/x"));
  CHECK(wildmatch("abc/**", "abc/x/y"));
  CHECK_FALSE(wildmatch("abc/**", "abc"));
  // "**" not between slashes is an ordinary '*'.
  CHECK_FALSE(wildmatch("foo**bar", "foo/baz/bar"));
  CHECK(wildmatch("foo**bar", "fooxxbar"));
  CHECK_FALSE(wildmatch("**foo", "a/foo"));
  CHECK(wildmatch("*/*/*", "a/b/c"));
  CHECK_FALSE(wildmatch("*/*/*", "a/b"));
  CHECK(wildmatch("a/*/c", "a/b/c"));
  CHECK_FALSE(wildmatch("a/*/c", "a/b/x/c"));
}

TEST_CASE("wildmatch: character classes") {
  CHECK(wildmatch("[a-c]", "b"));
  CHECK_FALSE(wildmatch("[a-c]", "d"));
  CHECK(wildmatch("[!a-c]", "d"));
  CHECK(wildmatch("[^a-c]", "d"));
  CHECK_FALSE(wildmatch("[^a-c]", "a"));
  CHECK(wildmatch("[]]", "]"));
  CHECK(wildmatch("[!]]", "a"));
  CHECK_FALSE(wildmatch("[!]]", "]"));
  CHECK(wildmatch("[abc]x", "cx"));
  CHECK(wildmatch("[a-]", "-"));
  CHECK(wildmatch("[\\]]", "]"));
  CHECK(wildmatch("[\\-]", "-"));
  CHECK(wildmatch("file[0-9].txt", "file7.txt"));
  CHECK_FALSE(wildmatch("file[0-9].txt", "filex.txt"));
  CHECK(wildmatch("[[:alpha:]]", "a"));
  CHECK_FALSE(wildmatch("[[:alpha:]]", "1"));
  CHECK(wildmatch("[[:digit:][:upper:]]", "Q"));
  CHECK(wildmatch("[[:digit:][:upper:]]", "5"));
  CHECK_FALSE(wildmatch("[[:digit:][:upper:]]", "q"));
  CHECK(wildmatch("[[:space:]]", " "));
  CHECK(wildmatch("[[:xdigit:]]", "f"));
  CHECK_FALSE(wildmatch("[[:bogus:]]", "a"));  // malformed class: no match
  CHECK_FALSE(wildmatch("[/]", "/"));           // a class never matches '/'
  CHECK_FALSE(wildmatch("a[", "a["));           // unterminated class: no match
  CHECK_FALSE(wildmatch("[a-c", "b"));
  CHECK(wildmatch("[[:a]", "["));  // no ":]": '[' is literal inside the class
}

TEST_CASE("gitignore: comments, blank lines, escapes, trailing spaces") {
  auto r = IgnoreRules::parse("# comment\n\n   \nfoo\n");
  REQUIRE(r.patterns().size() == 1);
  CHECK(r.patterns()[0].glob == "foo");
  CHECK(ign("\\#file", "#file"));
  CHECK_FALSE(ign("#file", "#file"));
  CHECK(ign("\\!important!.txt", "!important!.txt"));
  CHECK(ign("foo   ", "foo"));      // trailing spaces dropped
  CHECK_FALSE(ign("foo   ", "foo ")); 
  CHECK(ign("foo\\ ", "foo "));     // escaped trailing space kept
  CHECK_FALSE(ign("foo\\ ", "foo"));
  CHECK(ign("foo\r\n", "foo"));     // CRLF files
  CHECK(ign("a\\*b", "a*b"));
  CHECK_FALSE(ign("a\\*b", "axb"));
}

TEST_CASE("gitignore: patterns without a slash match the name at any depth") {
  CHECK(ign("hello.*", "hello.c"));
  CHECK(ign("hello.*", "src/deep/hello.h"));
  CHECK_FALSE(ign("hello.*", "hello"));
  CHECK(ign("*.o", "a/b/c.o"));
  CHECK(ign("frotz", "a/frotz", true));
  CHECK(ign("frotz", "a/frotz", false));
}

TEST_CASE("gitignore: a slash at the start or middle anchors to the root") {
  CHECK(ign("/bar", "bar"));
  CHECK_FALSE(ign("/bar", "a/bar"));
  CHECK(ign("doc/frotz/", "doc/frotz", true));
  CHECK_FALSE(ign("doc/frotz/", "a/doc/frotz", true));
  CHECK(ign("doc/*.txt", "doc/a.txt"));
  CHECK_FALSE(ign("doc/*.txt", "doc/x/a.txt"));
  CHECK_FALSE(ign("doc/*.txt", "x/doc/a.txt"));
}

TEST_CASE("gitignore: trailing slash matches directories only") {
  CHECK(ign("foo/", "foo", true));
  CHECK_FALSE(ign("foo/", "foo", false));
  CHECK(ign("foo/", "x/foo", true));
  CHECK(ign("foo/", "foo/bar.c"));  // inside an ignored directory
  CHECK(ign("frotz/", "a/frotz/f"));
}

TEST_CASE("gitignore: ** forms") {
  CHECK(ign("**/foo", "foo"));
  CHECK(ign("**/foo", "x/y/foo", true));
  CHECK(ign("**/foo/bar", "x/foo/bar"));
  CHECK(ign("**/foo/bar", "foo/bar"));
  CHECK(ign("abc/**", "abc/x/y"));
  CHECK_FALSE(ign("abc/**", "abc", true));
  CHECK(ign("a/**/b", "a/b"));
  CHECK(ign("a/**/b", "a/x/b"));
  CHECK(ign("a/**/b", "a/x/y/b"));
  CHECK_FALSE(ign("a/**/b", "x/a/b"));
}

TEST_CASE("gitignore: negation, last match wins") {
  CHECK_FALSE(ign("*.html\n!foo.html", "foo.html"));
  CHECK(ign("*.html\n!foo.html", "bar.html"));
  CHECK(ign("!foo.html\n*.html", "foo.html"));
  CHECK_FALSE(ign("!x", "x"));  // a negation with nothing to negate
}

TEST_CASE("gitignore: a file in an excluded directory cannot be re-included") {
  CHECK(ign("build/\n!build/keep", "build/keep"));
  CHECK(ign("build\n!build/keep", "build/keep"));
  // The documented way: exclude the contents, not the directory.
  const char* only_bar = "/*\n!/foo\n/foo/*\n!/foo/bar\n";
  CHECK(ign(only_bar, "x"));
  CHECK(ign(only_bar, "x/y"));
  CHECK_FALSE(ign(only_bar, "foo", true));
  CHECK(ign(only_bar, "foo/other"));
  CHECK_FALSE(ign(only_bar, "foo/bar", true));
  CHECK_FALSE(ign(only_bar, "foo/bar/deep.c"));
}

TEST_CASE("gitignore: foo/* matches one level, the parent rule covers deeper") {
  IgnoreRules r = IgnoreRules::parse("foo/*");
  CHECK(r.matches_self("foo/test.json", false));
  CHECK(r.matches_self("foo/bar", true));
  CHECK_FALSE(r.matches_self("foo/bar/hello.c", false));
  CHECK(r.ignored("foo/bar/hello.c", false));  // through its directory foo/bar
  CHECK_FALSE(r.ignored("foo", true));
}

TEST_CASE("gitignore: degenerate lines") {
  CHECK(IgnoreRules::parse("/\n!\n!/\n").empty());
  CHECK(IgnoreRules::parse(std::string("a\0b\n", 4)).patterns()[0].glob == "a");
  CHECK_FALSE(ign("\\", "x"));
  CHECK_FALSE(ign("[", "["));
  CHECK(IgnoreRules().ignored("x", false) == false);
}
