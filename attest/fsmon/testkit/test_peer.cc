// fsmon-testpeer: reads a NATS KV bucket back for the tests (the `nats` CLI is
// not packaged in Debian 12).
//   fsmon-testpeer kv-dump URL BUCKET   one line per key: KEY<TAB>VALUE
#include <nats/nats.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf("usage: fsmon-testpeer kv-dump URL BUCKET\n\nReads a NATS KV bucket back, one line per key: "
                "KEY<TAB>VALUE (the tests' stand-in for the nats CLI).\n");
    return 0;
  }
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("fsmon-testpeer %s\n", EF_VERSION);
    return 0;
  }
  if (argc != 4 || std::strcmp(argv[1], "kv-dump") != 0) {
    std::fprintf(stderr, "usage: fsmon-testpeer kv-dump URL BUCKET\n");
    return 2;
  }
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  natsStatus s = natsConnection_ConnectTo(&nc, argv[2]);
  if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, nullptr);
  if (s == NATS_OK) s = js_KeyValue(&kv, js, argv[3]);
  if (s != NATS_OK) {
    std::fprintf(stderr, "fsmon-testpeer: %s\n", natsStatus_GetText(s));
    return 1;
  }
  kvKeysList keys{};
  s = kvStore_Keys(&keys, kv, nullptr);
  int rc = 0;
  if (s == NATS_OK) {
    for (int i = 0; i < keys.Count; ++i) {
      kvEntry* e = nullptr;
      if (kvStore_Get(&e, kv, keys.Keys[i]) != NATS_OK) {
        rc = 1;
        continue;
      }
      std::string v(kvEntry_ValueString(e));
      std::printf("%s\t%s\n", keys.Keys[i], v.c_str());
      kvEntry_Destroy(e);
    }
    kvKeysList_Destroy(&keys);
  } else if (s != NATS_NOT_FOUND) {
    std::fprintf(stderr, "fsmon-testpeer: keys: %s\n", natsStatus_GetText(s));
    rc = 1;
  }
  kvStore_Destroy(kv);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return rc;
}
