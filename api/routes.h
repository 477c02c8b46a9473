// The route modules, one per resource family. Each appends its routes (and
// the commands they accept) to the router; service.cpp lists them. To add a
// family: write api/routes_<family>.cpp with one add_<family>_routes
// function, declare it here, list it in service.cpp, add the file to
// api/CMakeLists.txt, and document its routes in schemas/openapi.json.
#pragma once

#include "api/router.h"

namespace ledger::api {

void add_ops_routes(router& r);      // healthz, readyz (minimal)
void add_wallet_routes(router& r);   // assets, wallets, system accounts
void add_money_routes(router& r);    // deposits, withdrawals, transfers, reversals
void add_hold_routes(router& r);     // holds: place, capture, void
void add_batch_routes(router& r);    // several commands at once (commands.cpp)
void add_history_routes(router& r);  // read-model queries: history, statements, transactions
void add_webhook_routes(router& r);  // payment providers' signed webhooks
void add_events_routes(router& r);   // the event journal: pages, Server-Sent Events, WebSocket
void add_audit_routes(router& r);    // auditors: state at a point, checkpoints, signing key
void add_audit_verify_routes(router& r);  // auditors: the chain verified up to a seq
void add_reconciliation_routes(router& r);  // provider reports matched with deposits
void add_auth_routes(router& r);     // wallet sign-in, sessions, connections (routes_auth*.cpp)
void add_payout_routes(router& r);   // payout destinations (encrypted bank details), data-key rotation and shredding
void add_document_routes(router& r); // wallet documents: uploads, reads, signed links, groups
void add_console_routes(router& r);  // the web console's files and GET /v1/me (routes_console.cpp)
void add_fx_routes(router& r);       // rates, quotes, exchanges, FX limits, owner tiers (routes_fx.cpp)
void add_console_routes(router& r);
void add_document_export_routes(router& r);  // GET /v1/documents/export (routes_documents_export.cpp)
void add_owner_routes(router& r);  // DELETE /v1/owners/{owner}: the account-deletion cascade (routes_owners.cpp)
void add_payment_request_routes(router& r);  // payment requests, their QR codes, the activity log  // the web console's files and GET /v1/me (routes_console.cpp)

}  // namespace ledger::api
