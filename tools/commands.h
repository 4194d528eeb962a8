// The subcommands of `lineup`; each returns the process exit code. Each is described by
// a Command (cli_util.h) defined next to it; tools/lineup.cc lists them.
#pragma once

#include "cli_util.h"

namespace lineup::cli {
int CmdDetect(int argc, char** argv);
int CmdVerify(int argc, char** argv);
int CmdEmbed(int argc, char** argv);
int CmdEval(int argc, char** argv);
int CmdEvalIdent(int argc, char** argv);
int CmdEvalLeads(int argc, char** argv);
int CmdEvalAdmission(int argc, char** argv);
int CmdEvalCluster(int argc, char** argv);
int CmdEvalNetwork(int argc, char** argv);
int CmdEvalGroups(int argc, char** argv);
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
// tools/cmd_version.cc: `lineup --version`.
int CmdVersion(int argc, char** argv);
// tools/cmd_case.cc: `lineup case create|list|show|close`.
int CmdCase(int argc, char** argv);
// tools/cmd_evidence.cc: `lineup key show`, `lineup evidence verify`, and `lineup case
// export` (a verb of case, run by CmdCase through CaseExport).
int CmdKey(int argc, char** argv);
int CmdEvidence(int argc, char** argv);
int CaseExport(const Command& command, const Args& args);
// tools/cmd_persons.cc: `lineup persons list|show|name|merge|split|mark|undo|history|recluster`.
int CmdPersons(int argc, char** argv);
// tools/cmd_network.cc: `lineup network associates|path|communities|brokers|export`.
int CmdNetwork(int argc, char** argv);
// tools/cmd_cluster.cc: `lineup node serve` and `lineup cluster enroll|search`.
int CmdNode(int argc, char** argv);
int CmdClusterClient(int argc, char** argv);

// The descriptions, each in its command's file; lineup.cc lists the top-level ones, and
// a verb described in another file than its command is declared here too.
extern const Command kDetectCommand, kVerifyCommand, kEmbedCommand, kEvalCommand, kCalibrateCommand;
extern const Command kInitCommand, kSourceCommand, kEnrollCommand, kSearchCommand, kInfoCommand, kEraseCommand,
    kCompactCommand, kOptOutCommand;
extern const Command kServeCommand, kUserCommand, kAuditCommand, kBenchCommand, kVersionCommand, kCaseCommand;
extern const Command kKeyCommand, kEvidenceCommand, kCaseExportCommand;  // cmd_evidence.cc
extern const Command kPersonsCommand;                            // cmd_persons.cc
extern const Command kNetworkCommand;                            // cmd_network.cc
extern const Command kNodeCommand, kClusterCommand;              // cmd_cluster.cc
extern const Command kEvalIdentCommand;                         // cmd_eval_ident.cc
extern const Command kEvalLeadsCommand, kEvalAdmissionCommand;  // cmd_eval_leads.cc
extern const Command kEvalClusterCommand;                        // cmd_eval_cluster.cc
extern const Command kEvalNetworkCommand;                       // cmd_eval_network.cc
extern const Command kEvalGroupsCommand;                        // cmd_eval_groups.cc
extern const Command kRemoteSearchCommand;                      // cmd_remote.cc: search --server
extern const Command kBenchOpenCommand, kBenchLoadCommand;      // bench_open.cc, bench_load.cc
}  // namespace lineup::cli
