// The subcommands of `lineup`; each returns the process exit code.
#pragma once

namespace lineup::cli {
int CmdDetect(int argc, char** argv);
int CmdVerify(int argc, char** argv);
int CmdEmbed(int argc, char** argv);
int CmdEval(int argc, char** argv);
int CmdEvalIdent(int argc, char** argv);
int CmdCalibrate(int argc, char** argv);
int CmdInit(int argc, char** argv);
int CmdSource(int argc, char** argv);
int CmdEnroll(int argc, char** argv);
int CmdSearch(int argc, char** argv);
int CmdInfo(int argc, char** argv);
int CmdErase(int argc, char** argv);
int CmdCompact(int argc, char** argv);
int CmdOptOut(int argc, char** argv);
int CmdBench(int argc, char** argv);
// tools/cmd_oversight.cc: accounts and the audit trail of a gallery.
int CmdUser(int argc, char** argv);
int CmdAudit(int argc, char** argv);
// tools/cmd_serve.cc: the HTTP service and web console.
int CmdServe(int argc, char** argv);
// tools/cmd_remote.cc: `lineup search --server URL`, a search through a served gallery's API.
int CmdRemoteSearch(int argc, char** argv);
// `lineup bench open` (tools/bench_open.cc), one of CmdBench's subcommands.
int BenchGalleryOpen(int argc, char** argv);
// `lineup bench load` (tools/bench_load.cc): concurrent searches against a running server.
int BenchLoad(int argc, char** argv);
}  // namespace lineup::cli
