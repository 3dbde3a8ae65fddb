# Transparent egress inside the image (specs/default.yaml, same items in the
# same order): netfilter's NAT modules for nftables, which init loads, and nft
# with the libraries it needs, at the paths ld.so searches there.
{ pkgs, system, modules }:
let
  triplet = if system == "aarch64-linux" then "aarch64-linux-gnu" else "x86_64-linux-gnu";
  lib = "/lib/${triplet}";
  module = path: { file = "${modules}/${path}"; dest = "/lib/modules/netfilter/${baseNameOf path}"; };
  so = pkg: name: { file = "${pkg}/lib/${name}"; dest = "${lib}/${name}"; };
in
map module [
  "net/netfilter/nfnetlink.ko"
  "lib/libcrc32c.ko"
  "net/ipv4/netfilter/nf_defrag_ipv4.ko"
  "net/ipv6/netfilter/nf_defrag_ipv6.ko"
  "net/netfilter/nf_conntrack.ko"
  "net/netfilter/nf_nat.ko"
  "net/netfilter/nf_tables.ko"
  "net/netfilter/nft_chain_nat.ko"
  "net/netfilter/nft_redir.ko"
]
++ [
  { file = "${pkgs.nftables}/bin/nft"; dest = "/usr/sbin/nft"; mode = "0755"; }
  (so pkgs.nftables "libnftables.so.1")
  (so pkgs.libnftnl "libnftnl.so.11")
  (so pkgs.libmnl "libmnl.so.0")
  (so pkgs.iptables "libxtables.so.12")
  (so pkgs.jansson "libjansson.so.4")
  (so pkgs.gmp "libgmp.so.10")
  (so pkgs.libedit "libedit.so.2")
  (so pkgs.ncurses "libtinfo.so.6")
  (so pkgs.libbsd "libbsd.so.0")
  (so pkgs.libmd "libmd.so.0")
]
