// The co-appearance network routes of `lineup serve` (/v1/network/...): they parse the
// request, make one accountable call (network_investigations.h: role, case,
// justification, the query, its audit record) and format the answer. Every route is a
// read within a case, which (with the justification) travels in headers: ReadScope. Face
// crops take ?case=ID.
#include <fstream>
#include <sstream>

#include "server_internal.h"

namespace lineup::server {
namespace {

constexpr Role kAnalyst = Role::kAnalyst;

// Face crops of a network answer are served within the same case.
ThumbnailUrl ThumbnailsIn(int64_t case_id) {
  return [case_id](int64_t face) {
    return "/v1/network/faces/" + std::to_string(face) + "/thumbnail?case=" + std::to_string(case_id);
  };
}

// The library takes only the names it knows (leiden:modularity, louvain, infomap).
std::string Algorithm(const httplib::Request& req) { return req.get_param_value("algorithm"); }

}  // namespace

void Server::Impl::AddNetworkRoutes() {
  Register("GET", "/v1/network/persons/{id}/associates", {kAnalyst},
           "list the persons seen with a person, with the photos behind each link, within a case", [this](Call& c) {
             auto id = PathId(c, 1);
             auto scope = ReadScope(c.req);
             auto top = QueryInt(c.req, "top", 10, 1, kMaxNetworkTop);
             for (const Status& s : {id.status(), scope.status(), top.status()})
               if (!s.ok()) return SendError(c.res, s);
             auto a = network->Associates(c.who, *scope, *id, static_cast<int>(*top));
             if (!a.ok()) return SendError(c.res, a.status());
             SendJson(c.res, 200, AssociatesAnswerJson(*a, ThumbnailsIn(scope->case_id)));
           });
  Register("GET", "/v1/network/persons/{id}/neighbourhood", {kAnalyst},
           "read a person's neighbourhood for drawing (persons, links and their photos) within a case",
           [this](Call& c) {
             auto id = PathId(c, 1);
             auto scope = ReadScope(c.req);
             auto depth = QueryInt(c.req, "depth", 1, 1, kMaxNeighbourhoodDepth);
             auto nodes = QueryInt(c.req, "max_nodes", 30, 1, kMaxNeighbourhoodNodes);
             for (const Status& s : {id.status(), scope.status(), depth.status(), nodes.status()})
               if (!s.ok()) return SendError(c.res, s);
             auto n = network->Neighbourhood(c.who, *scope, *id, static_cast<int>(*depth), static_cast<int>(*nodes));
             if (!n.ok()) return SendError(c.res, n.status());
             SendJson(c.res, 200, NeighbourhoodAnswerJson(*n, ThumbnailsIn(scope->case_id)));
           });
  Register("GET", "/v1/network/persons/{id}/path/{other}", {kAnalyst},
           "find the shortest chain of co-appearances between two persons within a case", [this](Call& c) {
             auto a = PathId(c, 1);
             auto b = PathId(c, 2);
             auto scope = ReadScope(c.req);
             for (const Status& s : {a.status(), b.status(), scope.status()})
               if (!s.ok()) return SendError(c.res, s);
             auto p = network->Path(c.who, *scope, *a, *b);
             if (!p.ok()) return SendError(c.res, p.status());
             SendJson(c.res, 200, PathAnswerJson(*p, ThumbnailsIn(scope->case_id)));
           });
  Register("GET", "/v1/network/communities", {kAnalyst}, "list the communities of the network within a case",
           [this](Call& c) {
             auto scope = ReadScope(c.req);
             if (!scope.ok()) return SendError(c.res, scope.status());
             auto r = network->Communities(c.who, *scope, Algorithm(c.req));
             if (!r.ok()) return SendError(c.res, r.status());
             SendJson(c.res, 200, CommunitiesAnswerJson(*r, ThumbnailsIn(scope->case_id)));
           });
  Register("GET", "/v1/network/brokers", {kAnalyst}, "list the persons who bridge groups within a case",
           [this](Call& c) {
             auto scope = ReadScope(c.req);
             auto top = QueryInt(c.req, "top", 10, 1, kMaxNetworkTop);
             for (const Status& s : {scope.status(), top.status()})
               if (!s.ok()) return SendError(c.res, s);
             auto r = network->Brokers(c.who, *scope, static_cast<int>(*top), Algorithm(c.req));
             if (!r.ok()) return SendError(c.res, r.status());
             SendJson(c.res, 200, BrokersAnswerJson(*r, ThumbnailsIn(scope->case_id)));
           });
  Register("GET", "/v1/network/export", {kAnalyst},
           "export the whole network as GraphML or JSON for other link-analysis tools within a case",
           [this](Call& c) {
             auto scope = ReadScope(c.req);
             if (!scope.ok()) return SendError(c.res, scope.status());
             const std::string format = c.req.has_param("format") ? c.req.get_param_value("format") : "graphml";
             if (format != "graphml" && format != "json")
               return SendError(c.res, Status::InvalidArgument("\"format\" is graphml or json"));
             auto e = network->Export(c.who, *scope, format);
             if (!e.ok()) return SendError(c.res, e.status());
             c.res.set_header("Content-Disposition", format == "graphml"
                                                         ? "attachment; filename=\"network.graphml\""
                                                         : "attachment; filename=\"network.json\"");
             c.res.set_content(e->text, format == "graphml" ? "application/graphml+xml" : "application/json");
           });
  Register("GET", "/v1/network/faces/{face}/thumbnail", {kAnalyst},
           "see the face crop of a face that a recorded network answer showed you (JPEG)", [this](Call& c) {
             SendCropInCase(c, 1, [&](int64_t id, int64_t face) { return network->ThumbnailPath(c.who, id, face); });
           });
}

}  // namespace lineup::server
