# The PostgreSQL row-lock baseline: what a payment team would usually build,
# measured against the engine on the same machine.
add_library(ledger_pg_baseline STATIC
  ${CMAKE_CURRENT_LIST_DIR}/pg_baseline.cpp
)
target_include_directories(ledger_pg_baseline PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(ledger_pg_baseline PUBLIC ledger_test_support Threads::Threads)
target_compile_options(ledger_pg_baseline PRIVATE ${LEDGER_WARNINGS})

add_executable(pg_row_lock_bench
  ${CMAKE_CURRENT_LIST_DIR}/pg_row_lock_bench.cpp
)
target_link_libraries(pg_row_lock_bench PRIVATE ledger_pg_baseline ledger_test_support)
target_compile_options(pg_row_lock_bench PRIVATE ${LEDGER_WARNINGS})
