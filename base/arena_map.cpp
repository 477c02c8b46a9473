#include "base/arena_map.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>

namespace ledger {

std::uint64_t arena_map::hash_of(std::string_view k) { return std::hash<std::string_view>{}(k); }

void arena_map::reserve(std::size_t n) {
  std::size_t want = 16;
  while (want / 2 < n) want *= 2;
  if (want > slots_.size()) grow(want);
}

void arena_map::grow(std::size_t slots) {
  std::vector<slot> old = std::move(slots_);
  slots_.assign(slots, slot{});
  const std::size_t mask = slots - 1;
  for (const slot& s : old) {
    if (!s.rec) continue;
    std::size_t i = s.hash & mask;
    while (slots_[i].rec) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

arena_map::slot& arena_map::find_slot(std::string_view key, std::uint64_t h) {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    slot& s = slots_[i];
    if (!s.rec || (s.hash == h && s.rec->key == key)) return s;
  }
}

arena_map::record* arena_map::find(std::string_view key) {
  if (records_ == 0) return nullptr;
  return find_slot(key, hash_of(key)).rec;
}

std::pair<arena_map::record*, bool> arena_map::insert(std::string_view key) {
  if ((records_ + 1) * 2 > slots_.size()) grow(std::max<std::size_t>(16, slots_.size() * 2));
  std::uint64_t h = hash_of(key);
  slot& s = find_slot(key, h);
  const bool created = s.rec == nullptr;
  if (created) {
    char* k = static_cast<char*>(arena_.allocate(std::max<std::size_t>(key.size(), 1), 1));
    if (!key.empty()) std::memcpy(k, key.data(), key.size());
    auto* r = new (arena_.allocate(sizeof(record), alignof(record))) record{};
    r->key = std::string_view(k, key.size());
    s = slot{h, r};
    ++records_;
  }
  return {s.rec, created};
}

void arena_map::set(record& r, std::string_view value) {
  if (value.size() > r.capacity) {
    r.value = static_cast<char*>(arena_.allocate(value.size(), 1));
    r.capacity = value.size();
  }
  if (!value.empty()) std::memcpy(r.value, value.data(), value.size());
  r.size = value.size();
  if (!r.live) ++live_;
  r.live = true;
}

void arena_map::kill(record& r) {
  if (r.live) --live_;
  r.live = false;
  r.size = 0;
}

void arena_map::clear() {
  if (records_ == 0) return;
  std::fill(slots_.begin(), slots_.end(), slot{});
  records_ = live_ = 0;
  arena_.release();
}

}  // namespace ledger
