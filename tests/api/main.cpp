// doctest main for the end-to-end tests. SIGPIPE is ignored: a test that
// writes to a connection the server has closed must see an error, not die.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <signal.h>

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  doctest::Context context(argc, argv);
  return context.run();
}
