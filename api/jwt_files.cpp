#include "api/jwt_files.h"

#include <fstream>
#include <sstream>

namespace ledger::api {

namespace {

constexpr std::size_t file_bytes_max = 1 << 20;
constexpr std::size_t jti_bytes_max = 256;
constexpr std::size_t denied_max = 100'000;

std::optional<std::string> read_small_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read " + path;
  std::string text;
  text.resize(file_bytes_max + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > file_bytes_max) return path + " is larger than 1 MiB";
  out = std::move(text);
  return std::nullopt;
}

std::optional<std::string> read_denied(const std::string& path, std::vector<std::string>& out) {
  std::string text;
  if (auto e = read_small_file(path, text)) return e;
  std::stringstream lines(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(lines, line)) {
    ++n;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line.size() > jti_bytes_max) return path + ":" + std::to_string(n) + ": a jti longer than 256 bytes";
    if (out.size() >= denied_max) return path + ": more than 100000 ids";
    out.push_back(line);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> load_jwt_files(const jwt_files& files, jwt_config& config) {
  jwt_config next = config;
  if (!files.hs256_secret_file.empty()) {
    if (auto e = read_small_file(files.hs256_secret_file, next.hs256_secret)) return e;
    while (!next.hs256_secret.empty() && (next.hs256_secret.back() == '\n' || next.hs256_secret.back() == '\r'))
      next.hs256_secret.pop_back();
  }
  if (!files.es256_public_key_file.empty())
    if (auto e = read_small_file(files.es256_public_key_file, next.es256_public_key_pem)) return e;
  if (!files.keys_file.empty()) {
    std::string json;
    if (auto e = read_small_file(files.keys_file, json)) return e;
    if (auto e = parse_jwks(json, next.keys)) return files.keys_file + ": " + *e;
  }
  if (!files.denied_jti_file.empty()) {
    next.denied_jti.clear();
    if (auto e = read_denied(files.denied_jti_file, next.denied_jti)) return e;
  }
  config = std::move(next);
  return std::nullopt;
}

}  // namespace ledger::api
