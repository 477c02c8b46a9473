// Asio's TLS layer compiled once (BOOST_ASIO_SEPARATE_COMPILATION; the rest
// of Asio and Beast is compiled in api/asio_impl.cpp, which every program
// using the S3 store links through ledger_api).
#include <boost/asio/ssl/impl/src.hpp>
