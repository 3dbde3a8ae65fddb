#pragma once
// The server half of RFC 6455 that enclaved's event and log streams need:
// the handshake answer and unmasked text frames (server → client). Frames
// from the client are only read to notice a close.

#include <string>
#include <string_view>

namespace ef::engine::ws {

/// base64(SHA-1(key + RFC 6455 GUID)): the Sec-WebSocket-Accept value.
std::string accept_key(std::string_view client_key);
/// One FIN text frame carrying `payload` (server frames are not masked).
std::string text_frame(std::string_view payload);
/// A close frame with status 1000.
std::string close_frame();
/// True when the request asks to upgrade (Upgrade: websocket, a 16-byte
/// base64 Sec-WebSocket-Key, version 13).
bool is_upgrade(std::string_view upgrade, std::string_view connection, std::string_view key, std::string_view version);

}  // namespace ef::engine::ws
