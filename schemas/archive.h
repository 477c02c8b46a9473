// One field list per record serves both encoding and decoding: a record type
// defines `template <class A> void fields(A& a, T& v)` calling `a(field)` for
// each field in order, and `encoder`/`decoder` walk it. This keeps the write
// and read sides of every format from drifting apart.
//
// A decoder may decode over a value that held an earlier record (a reader
// reusing its buffers), so a field list assigns every field on every path:
// a field an older layout lacks is set to its default there, not skipped.
#pragma once

#include <type_traits>
#include <vector>

#include "schemas/codec.h"

namespace ledger {

// Bounds the element count of any encoded list, so a corrupted length cannot
// make a decoder allocate without limit.
inline constexpr std::uint32_t record_list_items_max = 4096;

// The layout version of the record being written or read. A record whose
// layout grew consults it in its field list; records that never changed
// ignore it. Writers always use the newest layout.
inline constexpr std::uint8_t record_version_newest = 0xff;

struct encoder {
  writer& w;
  std::uint8_t version = record_version_newest;
  void operator()(const std::uint8_t& v) { w.u8(v); }
  void operator()(const std::uint16_t& v) { w.u16(v); }
  void operator()(const std::uint32_t& v) { w.u32(v); }
  void operator()(const std::uint64_t& v) { w.u64(v); }
  void operator()(const std::int32_t& v) { w.u32(static_cast<std::uint32_t>(v)); }
  void operator()(const std::int64_t& v) { w.i64(v); }
  void operator()(const bool& v) { w.u8(v ? 1 : 0); }
  void operator()(const amount_t& v) { w.amount(v); }
  void operator()(const std::string& v) { w.bytes(v); }
  template <typename E>
    requires std::is_enum_v<E>
  void operator()(const E& v) {
    (*this)(static_cast<std::underlying_type_t<E>>(v));
  }
  template <typename T>
  void operator()(const std::vector<T>& v) {
    w.u32(static_cast<std::uint32_t>(v.size()));
    for (const auto& x : v) (*this)(x);
  }
  template <typename T>
    requires requires(encoder& e, T& t) { fields(e, t); }
  void operator()(const T& v) {
    fields(*this, const_cast<T&>(v));
  }
};

struct decoder {
  reader& r;
  std::uint8_t version = record_version_newest;
  void operator()(std::uint8_t& v) { v = r.u8(); }
  void operator()(std::uint16_t& v) { v = r.u16(); }
  void operator()(std::uint32_t& v) { v = r.u32(); }
  void operator()(std::uint64_t& v) { v = r.u64(); }
  void operator()(std::int32_t& v) { v = static_cast<std::int32_t>(r.u32()); }
  void operator()(std::int64_t& v) { v = r.i64(); }
  void operator()(bool& v) {
    auto b = r.u8();
    if (b > 1) r.fail();
    v = b == 1;
  }
  void operator()(amount_t& v) {
    v = r.amount();
    if (v > amount_limit || v < -amount_limit) r.fail();
  }
  // Into the string's own buffer: decoding into a reused record does not allocate.
  void operator()(std::string& v) { v.assign(r.bytes_view()); }
  // Enums are range-checked by the record's own validation after decoding.
  template <typename E>
    requires std::is_enum_v<E>
  void operator()(E& v) {
    std::underlying_type_t<E> raw{};
    (*this)(raw);
    v = static_cast<E>(raw);
  }
  template <typename T>
  void operator()(std::vector<T>& v) {
    std::uint32_t n = r.u32();
    if (!r.ok() || n > record_list_items_max) { r.fail(); return; }
    // Elements already there are decoded over (their strings keep their
    // buffers), which is why a field list must assign every field.
    v.resize(n);
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) (*this)(v[i]);
  }
  template <typename T>
    requires requires(decoder& d, T& t) { fields(d, t); }
  void operator()(T& v) {
    fields(*this, v);
  }
};

// A field a record gained in layout `since`: encoded and decoded from that
// layout on, and reset to its default when an older layout is decoded.
template <class A, class T>
void field_since(A& a, std::uint8_t since, T& field) {
  if (a.version >= since) a(field);
  else if constexpr (std::is_same_v<A, decoder>) field = T{};
}

}  // namespace ledger
