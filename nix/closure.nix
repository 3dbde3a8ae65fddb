# fs-monitor is dynamically linked (libnats): the loader and libraries it
# needs inside the image, at the paths ld.so searches there. rbuild checks at
# build time that they cover the binary's DT_NEEDED closure and names what is
# missing.
{ pkgs, system }:
let
  aarch64 = system == "aarch64-linux";
  triplet = if aarch64 then "aarch64-linux-gnu" else "x86_64-linux-gnu";
  loader = if aarch64 then "ld-linux-aarch64.so.1" else "ld-linux-x86-64.so.2";
  lib = "/lib/${triplet}";
in
[
  { file = "${pkgs.glibc}/lib/${loader}"; dest = "${lib}/${loader}"; mode = "0755"; }
  { symlink = if aarch64 then "/lib/${loader}" else "/lib64/${loader}"; target = "${lib}/${loader}"; }
  { file = "${pkgs.glibc}/lib/libc.so.6"; dest = "${lib}/libc.so.6"; mode = "0755"; }
  { file = "${pkgs.openssl.out}/lib/libcrypto.so.3"; dest = "${lib}/libcrypto.so.3"; }
  { file = "${pkgs.openssl.out}/lib/libssl.so.3"; dest = "${lib}/libssl.so.3"; }
  { file = "${pkgs.nats-c}/lib/libnats.so.3.4"; dest = "${lib}/libnats.so.3.4"; }
  { file = "${pkgs.protobufc}/lib/libprotobuf-c.so.1"; dest = "${lib}/libprotobuf-c.so.1"; }
]
