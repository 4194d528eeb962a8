// lineup serve: the HTTP API and web console over one gallery (server/server.h).
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <thread>

#include "cli_record.h"
#include "cli_util.h"
#include "commands.h"
#include "server.h"

namespace lineup::cli {


const Command kServeCommand = {
    .name = "serve",
    .summary = "the HTTP API and web console over one gallery",
    .usage = {"serve [--gallery DIR] [--listen 127.0.0.1:8080] [--tls-cert FILE --tls-key FILE]",
              "serve ... [--max-upload-mb 20] [--connections 8] [--slots N] [--timeout 30] [--max-pixels N]"},
    .options = {kGalleryOption,
                {"--listen", "HOST:PORT", "where to listen (default 127.0.0.1:8080)"},
                {"--tls-cert", "FILE", "serve HTTPS with this certificate (PEM; with --tls-key)"},
                {"--tls-key", "FILE", "the certificate's private key (PEM)"},
                {"--max-upload-mb", "MB", "the largest request body accepted (default 20)"},
                {"--connections", "N", "connections served at once (default 8)"},
                {"--slots", "N", "photos analysed at once (default one per core)"},
                {"--timeout", "S", "seconds a request may take (default 30)"},
                {"--web-root", "DIR", "serve the console's files from DIR (default web/ of the source tree)"}},
    .examples = {"lineup serve --gallery lineup-data --listen 127.0.0.1:8080"},
    .notes =
        "Create the first admin with: lineup user add NAME --role admin. SIGTERM or Ctrl-C stop\n"
        "the server after running requests finish (docs/service.md).",
    .reads_photos = true,
};

int CmdServe(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, kServeCommand);
  if (!args.ok()) return Fail(args.status());
  if (!args->positional.empty())
    return Misuse(kServeCommand, "serve takes no arguments, got \"" + args->positional[0] + "\"");
  auto analyzer = AnalyzerOptionsFrom(*args);
  auto upload_mb = args->GetInt("--max-upload-mb", 20, 1, 1024);
  auto connections = args->GetInt("--connections", 8, 2, 256);
  auto slots = args->GetInt("--slots", 0, 0, 64);
  auto timeout = args->GetInt("--timeout", 30, 1, 3600);
  for (const Status& s : {analyzer.status(), upload_mb.status(), connections.status(), slots.status(), timeout.status()})
    if (!s.ok()) return Fail(s);
  server::ServerOptions o;
  o.gallery_dir = GalleryDir(*args);
  o.analyzer = *analyzer;
  o.max_pixels = analyzer->decode.max_pixels;
  o.max_upload_bytes = int64_t{*upload_mb} << 20;
  o.threads = *connections;
  o.analysis_slots = *slots;
  o.request_timeout_s = *timeout;
  o.tls_cert = args->Get("--tls-cert");
  o.tls_key = args->Get("--tls-key");
  o.web_root = args->Get("--web-root");
  const std::string listen = args->Get("--listen", "127.0.0.1:8080");
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Fail(Status::InvalidArgument("--listen wants HOST:PORT, e.g. 127.0.0.1:8080"));
  o.host = listen.substr(0, colon);
  try {
    size_t used = 0;
    o.port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || o.port < 1 || o.port > 65535) throw std::out_of_range("port");
  } catch (...) {
    return Fail(Status::InvalidArgument("--listen: bad port in " + listen));
  }

  // SIGTERM and SIGINT stop the server: running requests finish, enrolment jobs stop
  // between photos. Libraries start threads of their own (OpenBLAS at load time), so
  // the signal may land on any thread: its handler only writes to a pipe, and one
  // thread of ours reads it and stops the server.
  static int stop_pipe[2] = {-1, -1};
  if (::pipe(stop_pipe) != 0) return Fail(Status::IOError("cannot create a pipe"));
  struct sigaction sa {};
  sa.sa_handler = [](int sig) {
    const char b = static_cast<char>(sig);
    [[maybe_unused]] ssize_t n = ::write(stop_pipe[1], &b, 1);
  };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto srv = server::Server::Create(o);
  if (!srv.ok()) return Fail(srv.status());
  server::Server* s = srv->get();
  std::thread watcher([s] {
    char b = 0;
    while (::read(stop_pipe[0], &b, 1) < 0 && errno == EINTR) {
    }
    if (b != 0) {
      std::fprintf(stderr, "lineup serve: stopping (signal %d); letting running requests finish\n", b);
      s->Stop();
    }
  });
  std::fprintf(stderr, "lineup serve: %s://%s:%d/ (gallery %s)\n", o.tls_cert.empty() ? "http" : "https",
               o.host.c_str(), o.port, o.gallery_dir.c_str());
  Status st = s->Run();
  if (!st.ok()) {
    const char zero = 0;
    [[maybe_unused]] ssize_t n = ::write(stop_pipe[1], &zero, 1);  // wakes the watcher without a stop
    watcher.join();
    return Fail(st);
  }
  watcher.join();  // Run() returned: a signal stopped the server
  srv->reset();
  std::fprintf(stderr, "lineup serve: stopped\n");
  return kExitOk;
}

}  // namespace lineup::cli
