#include "builder/eif_diff.h"

#include <map>

#include "base/hash.h"
#include "builder/cpio_reader.h"
#include "builder/eif_section_source.h"

namespace ef::build {
namespace {

using Entries = std::map<std::string, rootfs::CpioListedEntry>;

void compare(std::vector<Difference>& out, const std::string& where, const std::string& a, const std::string& b) {
  if (a != b) out.push_back({where, a, b});
}

std::string section_sha256(const eif::EifImage& img, const eif::Section& s) {
  Hasher h(HashAlgo::kSha256);
  std::vector<std::uint8_t> buf(1 << 20);
  for (std::uint64_t off = 0; off < s.size;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), s.size - off));
    pread_exact(img.fd(), std::span(buf.data(), n), s.data_offset + off, img.name());
    h.update(std::span(buf.data(), n));
    off += n;
  }
  return to_hex(h.finish());
}

Entries list_ramdisk(const eif::EifImage& img, const eif::Section& s) {
  Entries out;
  eif::SectionSource src(img, s);
  rootfs::read_cpio(src, img.name(), [&](const rootfs::CpioListedEntry& e) { out[e.entry.path] = e; });
  return out;
}

std::string octal(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", v);
  return buf;
}

void compare_entries(std::vector<Difference>& out, const std::string& prefix, const Entries& a, const Entries& b) {
  for (const auto& [path, ea] : a) {
    auto it = b.find(path);
    std::string where = prefix + " " + path;
    if (it == b.end()) {
      out.push_back({where, "present", "absent"});
      continue;
    }
    const rootfs::CpioEntry &x = ea.entry, &y = it->second.entry;
    compare(out, where + " type", std::string(rootfs::type_name(x.type)), std::string(rootfs::type_name(y.type)));
    compare(out, where + " mode", octal(x.mode), octal(y.mode));
    compare(out, where + " owner", std::to_string(x.uid) + ":" + std::to_string(x.gid),
            std::to_string(y.uid) + ":" + std::to_string(y.gid));
    compare(out, where + " mtime", std::to_string(x.mtime), std::to_string(y.mtime));
    compare(out, where + " size", std::to_string(x.size), std::to_string(y.size));
    compare(out, where + " sha256", ea.sha256, it->second.sha256);
    compare(out, where + " target", x.link_target, y.link_target);
    compare(out, where + " rdev", std::to_string(x.rdev_major) + "," + std::to_string(x.rdev_minor),
            std::to_string(y.rdev_major) + "," + std::to_string(y.rdev_minor));
    compare(out, where + " inode", std::to_string(x.ino), std::to_string(y.ino));
  }
  for (const auto& [path, eb] : b)
    if (!a.count(path)) out.push_back({prefix + " " + path, "absent", "present"});
}

}  // namespace

std::vector<Difference> diff_images(const eif::EifImage& a, const eif::EifImage& b) {
  std::vector<Difference> out;
  const eif::Header &ha = a.header(), &hb = b.header();
  compare(out, "header.version", std::to_string(ha.version), std::to_string(hb.version));
  compare(out, "header.flags", std::to_string(ha.flags), std::to_string(hb.flags));
  compare(out, "header.default_mem", std::to_string(ha.default_mem), std::to_string(hb.default_mem));
  compare(out, "header.default_cpus", std::to_string(ha.default_cpus), std::to_string(hb.default_cpus));
  compare(out, "header.num_sections", std::to_string(ha.num_sections), std::to_string(hb.num_sections));

  const nlohmann::ordered_json fa = eif::metadata_json(a.metadata()).flatten();
  const nlohmann::ordered_json fb = eif::metadata_json(b.metadata()).flatten();
  for (const auto& [k, v] : fa.items())
    compare(out, "metadata" + k, v.dump(), fb.contains(k) ? fb.at(k).dump() : "absent");
  for (const auto& [k, v] : fb.items())
    if (!fa.contains(k)) out.push_back({"metadata" + k, "absent", v.dump()});

  std::size_t n = std::max(a.sections().size(), b.sections().size());
  std::size_t ramdisk = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const eif::Section* sa = i < a.sections().size() ? &a.sections()[i] : nullptr;
    const eif::Section* sb = i < b.sections().size() ? &b.sections()[i] : nullptr;
    std::string where = "section[" + std::to_string(i) + "]";
    if (!sa || !sb) {
      out.push_back({where, sa ? std::string(eif::section_type_name(sa->type)) : "absent",
                     sb ? std::string(eif::section_type_name(sb->type)) : "absent"});
      continue;
    }
    compare(out, where + " type", std::string(eif::section_type_name(sa->type)),
            std::string(eif::section_type_name(sb->type)));
    compare(out, where + " size", std::to_string(sa->size), std::to_string(sb->size));
    std::string da = section_sha256(a, *sa), db = section_sha256(b, *sb);
    compare(out, where + " sha256", da, db);
    if (sa->type == eif::SectionType::kRamdisk && sb->type == eif::SectionType::kRamdisk && da != db)
      compare_entries(out, "ramdisk[" + std::to_string(ramdisk) + "]", list_ramdisk(a, *sa), list_ramdisk(b, *sb));
    if (sa->type == eif::SectionType::kRamdisk) ++ramdisk;
  }
  return out;
}

nlohmann::ordered_json differences_json(const std::vector<Difference>& diffs) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const Difference& d : diffs) j.push_back({{"where", d.where}, {"a", d.a}, {"b", d.b}});
  return j;
}

}  // namespace ef::build
