// lineup bench: measurements on synthetic data (being written).
#include "cli_util.h"
#include "commands.h"

namespace lineup::cli {
int CmdBench(int, char**) { return Usage("usage: lineup bench scale --faces N [--index SPEC]... [--json OUT]\n"); }
}  // namespace lineup::cli
