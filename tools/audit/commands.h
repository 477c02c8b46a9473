// What ledgerctl's commands do, as functions over a source, so tests and
// benchmarks call the same code as the command line (tools/ledgerctl.cpp
// only parses arguments and maps results to exit codes).
//
// Errors: an operating error (I/O, a missing file) is returned as such;
// anything wrong with the journal or an archive is `corruption` whose message
// starts with "seq N: " when a seq is to blame.
#pragma once

#include <atomic>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "tools/audit/replay.h"

namespace ledger::audit {

// --- events ---------------------------------------------------------------

struct events_options {
  std::uint64_t from_seq = 1;
  std::optional<std::int64_t> from_time_us;
  std::uint64_t to_seq = std::numeric_limits<std::uint64_t>::max();
  std::optional<std::int64_t> to_time_us;
  std::vector<std::uint64_t> wallets;  // any of these accounts touched; empty: all
  std::vector<std::string> assets;     // any of these assets touched; empty: all
  std::vector<std::string> types;      // event type names (event_type_name); empty: all
  bool csv = false;
  bool follow = false;
  const std::atomic<bool>* stop = nullptr;  // ends a follow
  bool progress_bar = true;                 // when stderr is a terminal
};

struct events_report {
  std::uint64_t first_seq = 0;  // where reading started
  std::uint64_t read = 0, written = 0;
  std::uint64_t last_seq = 0;
};

// Writes matching events to `out` (NDJSON lines, or CSV with a header).
status run_events(source& src, const events_options& o, std::FILE* out, events_report& report);

// --- audit export / verify --------------------------------------------------

struct export_report {
  manifest info;
  std::uint64_t segments = 0;
};
status run_export(source& src, const std::string& out_path, std::uint64_t to_seq, const std::string& key_path,
                  export_report& report);

struct verify_options {
  std::optional<std::string> public_key;  // PEM or hex; pins the signer
  bool progress_bar = true;
  // Verify seq 1 up to this seq only (data directories and open stores; an
  // archive is verified whole). Past the head: up to the head.
  std::optional<std::uint64_t> to_seq;
};
struct verify_report {
  std::uint64_t events = 0;
  ledger_head head;
  std::size_t checkpoints_checked = 0;
  bool signature_checked = false;
  bool signer_pinned = false;  // checked against a key given by the auditor
  std::string ledger_id;
};
status run_verify(source& src, const verify_options& o, verify_report& report);

// --- audit state / trial-balance / diff -------------------------------------

struct state_options {
  fold_bound bound;
  std::optional<std::uint64_t> wallet;
  bool use_snapshots = true;
  bool progress_bar = true;
};
struct state_report {
  ledger_head head;            // the state is as of this event
  state_summary summary;
  std::uint64_t snapshot_seq = 0;  // where the fold started (0: seq 1)
  std::uint64_t events_folded = 0;
  std::optional<checkpoint> checkpoint_at_head;  // the engine's, when one exists there
};
status run_state(source& src, const state_options& o, state_report& report);

// Writes a state report (filtered to o.wallet) as CSV or NDJSON.
void write_state(const state_report& r, const std::optional<std::uint64_t>& wallet, bool csv, std::FILE* out);
// The same text, in a string (the HTTP route /v1/audit/state serves the NDJSON).
std::string render_state(const state_report& r, const std::optional<std::uint64_t>& wallet, bool csv);

struct trial_row {
  std::string asset;
  amount_t posted_sum = 0, pending_sum = 0;
  std::uint64_t accounts = 0;
};
// Per asset, the sum over every account of posted and of
// (credits_pending - debits_pending); both are zero in a sound ledger.
std::vector<trial_row> trial_balance(const state_summary& s);

// Compares two state files (CSV or NDJSON as written by write_state, or a
// CSV with at least account, asset and some of posted/held/incoming/available
// columns, such as an export of the read models), naming each difference.
status run_diff(const std::string& a_path, const std::string& b_path, std::vector<std::string>& differences);

}  // namespace ledger::audit
