// lineup: the command-line front end of the Lineup library.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <streambuf>
#include <string>

#include <opencv2/core/utils/logger.hpp>

#include "cli_util.h"
#include "commands.h"

namespace {
struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};

const char* kUsage =
    "usage: lineup COMMAND [options]\n"
    "\n"
    "Every result is a lead for human review, never an identification.\n"
    "\n"
    "commands:\n"
    "  detect PHOTO... [--draw OUT.png|DIR] [--min-face PX] [--min-photo-confidence C] [--json]\n"
    "      every face: box, five landmarks, confidence, quality and its reasons\n"
    "  verify PHOTO_A PHOTO_B [--fmr 1e-3] [--face-a N] [--face-b N] [--json]\n"
    "      similarity of two faces and the decision at the calibrated threshold\n"
    "  embed PHOTO|DIR... --out FILE [--all-faces] [--json]\n"
    "      identity vectors with photo, box and model (format: docs/formats.md)\n"
    "  eval pairs (--lfw-pairs FILE --root DIR | --tsv FILE) [--report DIR] [--json]\n"
    "      verification accuracy by the LFW protocol\n"
    "  eval ident --root DIR [--identities TSV] [--report DIR] [--json]\n"
    "      open-set 1:N identification (rank-1, FNIR at FPIR) by the LFW 1:N protocol\n"
    "  calibrate --root LFW_DIR [--identities TSV] [--out FILE]\n"
    "      thresholds for FMR 1e-2..1e-5 from all impostor pairs of a labelled set\n"
    "\n"
    "gallery (--gallery DIR, default $LINEUP_GALLERY or ./lineup-data):\n"
    "  init [DIR]                                   create an empty gallery\n"
    "  source add NAME --legal-basis TEXT [...]     register a photo collection and its legal basis\n"
    "  source list                                  the sources and their legal bases\n"
    "  enroll PATH... --source NAME [--subject NAME | --subject-from-dir]\n"
    "                                               find and enrol every face (directories recursively)\n"
    "  search PROBE [--top K] [--fmr 1e-3] [--all]  ranked candidates with score, FPIR and provenance\n"
    "  search PROBE --server URL --case ID --justification T   the same through a served gallery\n"
    "  info                                         counts per source, disk and memory use\n"
    "  erase --subject X | --source S | --image SHA256 [--reason TEXT]\n"
    "                                               remove faces now; `compact` removes their bytes\n"
    "  compact [--index SPEC]                       rewrite the vector file without erased faces and\n"
    "                                               rebuild the index (exact, ivfpq,...: docs/gallery.md)\n"
    "  optout PHOTO [--reason TEXT]                 never return or enrol this person again\n"
    "\n"
    "service and oversight (docs/service.md, docs/oversight.md):\n"
    "  serve [--listen 127.0.0.1:8080] [--tls-cert F --tls-key F]   HTTP API and web console\n"
    "  user add NAME --role admin|analyst|enroller|auditor         accounts (also list, disable,\n"
    "                                               enable, role, password, grant, token, tokens, revoke)\n"
    "  audit verify [--expect-head HASH] | head | export | stats    the hash-chained audit log\n"
    "\n"
    "measurements:\n"
    "  bench scale --faces N [--index SPEC]... [--json OUT]\n"
    "      the gallery index on N synthetic faces with identity structure: build time,\n"
    "      RAM and disk per face, p50/p99 search latency, recall against exact search\n"
    "  bench open --faces N [--json OUT]\n"
    "      a gallery of N synthetic faces built through the library, opened cold and warm\n"
    "  bench load --url URL --token T --case ID --photo FILE...\n"
    "      concurrent searches by vector and by photo against a running server\n"
    "\n"
    "options for every command that reads photos:\n"
    "  --models DIR       model folder (default: $LINEUP_MODELS or the source tree's models/)\n"
    "  --detector SPEC    pyramid (default) or single\n"
    "  --embedder SPEC    fr_feature (default), fr_feature+flip, fr_feature:rgb and\n"
    "                     fr_feature+flip:rgb (fed RGB: galleries made before 2026-11-27),\n"
    "                     faceapi_resnet or fr_feature+faceapi[:W] (both models fused;\n"
    "                     docs/accuracy.md)\n"
    "  --landmarks MODE   single (default), refined (a second pass re-centred on the first),\n"
    "                     refined+mirror or single+mirror (averaged with the mirrored crop)\n"
    "  --min-face PX      smallest face height to look for (default 20)\n"
    "  --min-photo-confidence C\n"
    "                     a photo whose best detection is below C has no face; its\n"
    "                     detections are set aside, not used (default 0.8; 0 keeps all)\n"
    "  --max-pixels N     refuse images declaring more pixels (default 100000000)\n"
    "  --threads N        worker pipelines for many photos (default: one per core)\n"
    "\n"
    "exit codes: 0 success, 1 no face / not the same person, 2 bad input or usage\n";
}  // namespace

int main(int argc, char** argv) {
  // FAISS parallelises short loops with OpenMP, whose threads spin between them by
  // default; with two cores shared with OpenBLAS and other processes, spinning made
  // index training 7x slower (245 s against 35 s for 30,000 faces, docs/benchmarks.md).
  // The wait policy is read when libgomp loads, so it is set by running again.
  if (!std::getenv("OMP_WAIT_POLICY") && ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0)
    ::execv("/proc/self/exe", argv);  // returns only on failure: carry on as we are
  // Library problems reach the user as one clear line each, not as OpenCV's log.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  // Some OpenCV decoders also write to std::cerr directly; our own messages go to
  // stderr through stdio, so the stream is muted for the whole process.
  // Never destroyed: the runtime flushes std::cerr after static objects are gone.
  static NullBuffer* null_buffer = new NullBuffer;
  std::cerr.rdbuf(null_buffer);
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? lineup::cli::kExitBad : 0;
  }
  std::string cmd = argv[1];
  try {
    if (cmd == "detect") return lineup::cli::CmdDetect(argc, argv);
    if (cmd == "verify") return lineup::cli::CmdVerify(argc, argv);
    if (cmd == "embed") return lineup::cli::CmdEmbed(argc, argv);
    if (cmd == "eval") return lineup::cli::CmdEval(argc, argv);
    if (cmd == "calibrate") return lineup::cli::CmdCalibrate(argc, argv);
    if (cmd == "init") return lineup::cli::CmdInit(argc, argv);
    if (cmd == "source") return lineup::cli::CmdSource(argc, argv);
    if (cmd == "enroll") return lineup::cli::CmdEnroll(argc, argv);
    if (cmd == "search") {
      for (int i = 2; i < argc; ++i)
        if (!std::strncmp(argv[i], "--server", 8)) return lineup::cli::CmdRemoteSearch(argc, argv);
      return lineup::cli::CmdSearch(argc, argv);
    }
    if (cmd == "info") return lineup::cli::CmdInfo(argc, argv);
    if (cmd == "erase") return lineup::cli::CmdErase(argc, argv);
    if (cmd == "compact") return lineup::cli::CmdCompact(argc, argv);
    if (cmd == "optout") return lineup::cli::CmdOptOut(argc, argv);
    if (cmd == "bench") return lineup::cli::CmdBench(argc, argv);
    if (cmd == "user") return lineup::cli::CmdUser(argc, argv);
    if (cmd == "audit") return lineup::cli::CmdAudit(argc, argv);
    if (cmd == "serve") return lineup::cli::CmdServe(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lineup: internal error: %s\n", e.what());
    return lineup::cli::kExitBad;
  }
  std::fprintf(stderr, "lineup: unknown command \"%s\"\n\n%s", cmd.c_str(), kUsage);
  return lineup::cli::kExitBad;
}
