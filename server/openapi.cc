// The OpenAPI 3 document, made from the route table so that it cannot drift from the
// routes the server really has (tests/server_test.cc checks both ways). Every route's
// success response names a schema in components/schemas (Schemas() below), written
// from the JSON the handlers in handlers.cc and SearchResultJson (investigations.cc)
// send; a route added without one is documented with no content, which the test notices.
#include <map>
#include <regex>

#include "server_internal.h"

namespace lineup::server {
namespace {

json Ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }
json Error() { return Ref("Error"); }

// Schema building blocks.
const json kStr = {{"type", "string"}}, kNum = {{"type", "number"}}, kInt = {{"type", "integer"}},
           kBool = {{"type", "boolean"}}, kFile = {{"type", "string"}, {"format", "binary"}},
           kTime = {{"type", "string"}, {"description", "UTC time, ISO 8601 (\"\" when not set)"}},
           kSha = {{"type", "string"}, {"pattern", "^[0-9a-f]{64}$"}};
json Arr(json items) { return {{"type", "array"}, {"items", std::move(items)}}; }
json Obj(json props, std::vector<std::string> required = {}) {
  json o = {{"type", "object"}, {"properties", std::move(props)}};
  if (!required.empty()) o["required"] = required;
  return o;
}
json Enum(std::vector<std::string> values) { return {{"type", "string"}, {"enum", values}}; }
json Described(json schema, const std::string& what) {
  schema["description"] = what;
  return schema;
}
json Nullable(json schema) {
  schema["nullable"] = true;
  return schema;
}
// An object schema with more properties than `base` has.
json Extended(json base, const json& more, std::vector<std::string> required = {}) {
  for (auto& [k, v] : more.items()) base["properties"][k] = v;
  if (!required.empty()) base["required"] = required;
  return base;
}

// The responses' schemas, by name.
json Schemas() {
  const json roles = Enum({"admin", "analyst", "enroller", "auditor"});
  const json box = Described(Arr(kInt), "x, y, width, height in the photo's pixels");
  const json verdict = Enum({"possible_match", "not_a_match", "inconclusive"});
  json s = json::object();
  s["Error"] = Obj({{"error", Obj({{"code", kStr}, {"message", kStr}}, {"code", "message"})}}, {"error"});
  s["Health"] = Obj({{"status", kStr}, {"faces", kInt}}, {"status"});
  s["SignIn"] = Obj({{"user", kStr}, {"role", roles}, {"csrf", kStr}, {"expires_at", kTime}},
                    {"user", "role", "csrf"});
  s["Session"] = Obj({{"signed_in", kBool},
                      {"user", kStr},
                      {"role", roles},
                      {"via", Described(kStr, "session or token")},
                      {"csrf", kStr},
                      {"notice", kStr}},
                     {"signed_in"});
  s["Me"] = Obj({{"user", kStr}, {"role", roles}, {"via", kStr}, {"csrf", kStr}, {"notice", kStr}}, {"user", "role"});
  s["SignedOut"] = Obj({{"signed_out", kBool}}, {"signed_out"});
  s["Analysts"] = Obj({{"analysts", Described(Arr(kStr), "the active analysts' names")}}, {"analysts"});
  s["Gallery"] = Obj({{"faces", kInt},
                      {"images", kInt},
                      {"subjects", kInt},
                      {"sources", Arr(Obj({{"name", kStr}, {"faces", kInt}, {"images", kInt}}))},
                      {"model", kStr},
                      {"index", kStr},
                      {"index_memory_bytes", kInt}},
                     {"faces", "images", "sources"});
  s["Face"] = Obj({{"face", Described(kInt, "the number drawn on the photo (1-based)")},
                   {"box", box},
                   {"confidence", kNum},
                   {"quality", kNum},
                   {"quality_reasons", Arr(kStr)}},
                  {"face", "box"});
  s["Detect"] = Obj({{"image_sha256", kSha}, {"width", kInt}, {"height", kInt}, {"faces", Arr(Ref("Face"))}},
                    {"image_sha256", "faces"});
  s["Case"] = Obj({{"id", kInt},
                   {"title", kStr},
                   {"authority", kStr},
                   {"status", Enum({"open", "closed"})},
                   {"created_by", kStr},
                   {"created_at", kTime},
                   {"closed_at", kTime},
                   {"members", Arr(kStr)}},
                  {"id", "title", "authority", "status"});
  s["CaseList"] = Obj({{"cases", Arr(Ref("Case"))}}, {"cases"});
  s["SearchSummary"] = Obj({{"id", kInt},
                            {"case_id", kInt},
                            {"user", kStr},
                            {"justification", kStr},
                            {"probe_sha256", kStr},
                            {"kind", Enum({"photo", "vector"})},
                            {"threshold", kNum},
                            {"gallery_size", kInt},
                            {"low_quality", kBool},
                            {"candidates", Arr(Obj({{"face_id", kInt}, {"score", kNum}}))},
                            {"at", kTime}},
                           {"id", "user", "justification", "at"});
  s["Review"] = Obj({{"id", kInt},
                     {"search_id", kInt},
                     {"case_id", kInt},
                     {"face_id", kInt},
                     {"analyst", kStr},
                     {"verdict", verdict},
                     {"note", kStr},
                     {"at", kTime},
                     {"confirmed_by", kStr},
                     {"confirmed_at", kTime},
                     {"confirmed", kBool}},
                    {"id", "face_id", "analyst", "verdict"});
  s["CaseDetail"] = Extended(s["Case"], {{"searches", Arr(Ref("SearchSummary"))}, {"reviews", Arr(Ref("Review"))}},
                             {"id", "title", "authority", "status", "searches", "reviews"});
  s["CaseMember"] = Obj({{"case_id", kInt}, {"member", kStr}}, {"case_id", "member"});
  s["Decision"] = Obj(
      {{"threshold", Described(kNum, "a candidate scoring at least this is a lead (unless withheld)")},
       {"fmr", Described(kNum, "per comparison, at the threshold")},
       {"target_fpir", Nullable(Described(kNum, "the FPIR asked for; null when an expert set the FMR"))},
       {"fpir", Described(kNum, "the share of searches for someone not in the gallery that return a lead")},
       {"gallery_size", kInt},
       {"beyond_calibration", Described(kBool, "the calibration could not reach the target: fpir says what it gives")},
       {"basis", Enum({"fpir", "fmr"})},
       {"text", Described(kStr, "the decision in one sentence")},
       {"group_fpir", Described({{"type", "object"}, {"additionalProperties", kNum}},
                                "FPIR at the threshold for probes of each demographic group, where measured")},
       {"worst_group", Nullable(kStr)},
       {"group_fmr", Described({{"type", "object"}, {"additionalProperties", kNum}},
                               "per-comparison FMR at the threshold among impostor pairs within each group")},
       {"worst_fmr_group", Nullable(kStr)},
       {"group_fmr_bounded", Described(kBool, "a group's rate at the threshold is below what was measured; its "
                                              "lowest measured rate is given as an upper bound")},
       {"differentials", Nullable(Ref("Differentials"))}},
      {"threshold", "fpir", "gallery_size", "basis"});
  s["Differentials"] = Obj(
      {{"threshold", kNum},
       {"dataset", Described(kStr, "the labelled set the group rates were measured on")},
       {"groups", {{"type", "object"},
                   {"additionalProperties", Obj({{"fmr", kNum}, {"fmr_measured", kBool}, {"fnmr", kNum}})}}},
       {"fmr_ratio", Nullable(Described(kNum, "highest group's within-group FMR over the lowest's"))},
       {"fmr_ratio_groups", Arr(kStr)},
       {"fmr_ratio_threshold", Described(kNum, "where the FMR ratio was measured (the threshold, or the highest "
                                               "threshold measured for every group)")},
       {"fmr_ratio_at_threshold", kBool},
       {"fnmr_ratio", Nullable(kNum)},
       {"fnmr_ratio_groups", Arr(kStr)},
       {"text", Described(kStr, "the statement for people, shown with every decision")},
       {"label", kStr}},
      {"threshold", "groups", "text"});
  s["DifferentialsTable"] = Obj({{"model", kStr},
                                 {"dataset", kStr},
                                 {"command", kStr},
                                 {"calibration_sha256", kStr},
                                 {"groups", Arr(Obj({{"group", kStr},
                                                     {"impostor_pairs", kInt},
                                                     {"genuine_pairs", kInt},
                                                     {"lowest_measured_fmr", Nullable(kNum)}}))},
                                 {"rows", Arr(Ref("Differentials"))},
                                 {"about", kStr}},
                                {"model", "groups", "rows"});
  s["Probe"] = Obj({{"kind", Enum({"photo", "vector"})},
                    {"name", kStr},
                    {"image_sha256", kSha},
                    {"width", kInt},
                    {"height", kInt},
                    {"faces", Arr(Ref("Face"))},
                    {"searched_face", Described(kInt, "the face searched (1-based, as drawn on the photo)")},
                    {"quality", kNum},
                    {"quality_reasons", Arr(kStr)}},
                   {"kind"});
  s["Candidate"] = Obj(
      {{"rank", kInt},
       {"face_id", kInt},
       {"score", kNum},
       {"rank_score", kNum},
       {"fpir", Described(kNum, "1 - (1 - FMR(score))^gallery_size")},
       {"above_threshold", Described(kBool, "a lead: scores at least the threshold and is not withheld")},
       {"withheld", Nullable(Described(kStr, "why a candidate scoring above the threshold is not a lead"))},
       {"image", Obj({{"uri", kStr}, {"sha256", kSha}, {"captured_at", kStr}, {"width", kInt}, {"height", kInt}})},
       {"source", Obj({{"name", kStr}, {"legal_basis", kStr}})},
       {"subject", kStr},
       {"box", box},
       {"quality", kNum},
       {"quality_reasons", Arr(kStr)},
       {"thumbnail", Described(kStr, "the face crop: /v1/searches/{id}/faces/{face}/thumbnail")}},
      {"rank", "face_id", "score", "fpir", "above_threshold"});
  s["SubjectLead"] = Obj({{"subject", kStr},
                          {"best", Described(kInt, "face_id of the subject's best face, among the candidates")},
                          {"score", kNum},
                          {"fpir", kNum},
                          {"faces", Described(Arr(kInt), "face_ids of the subject's faces found")},
                          {"above_threshold", kBool}},
                         {"subject", "best", "faces"});
  s["Search"] = Obj({{"search_id", kInt},
                     {"case_id", kInt},
                     {"justification", kStr},
                     {"probe", Ref("Probe")},
                     {"gallery_size", kInt},
                     {"threshold", kNum},
                     {"fmr", kNum},
                     {"decision", Ref("Decision")},
                     {"undecided", Described(kBool, "the probe is too poor to decide: no candidate can be a lead")},
                     {"probe_photo_kept",
                      Described(kBool, "the case keeps the probe photo itself for its evidence export (keep_probe)")},
                     {"model", kStr},
                     {"calibration", Obj({{"file", kStr}, {"sha256", kStr}})},
                     {"ranked_by_cohort", kBool},
                     {"warnings", Arr(kStr)},
                     {"candidates", Arr(Ref("Candidate"))},
                     {"subjects", Described(Arr(Ref("SubjectLead")), "with subjects=true")},
                     {"leads", Described(kInt, "how many candidates are leads")},
                     {"notice", kStr},
                     {"fpir_formula", kStr}},
                    {"search_id", "probe", "decision", "undecided", "candidates", "leads", "notice"});
  s["RecordedSearch"] = Extended(
      s["Search"],
      {{"user", kStr},
       {"at", kTime},
       {"reviews", Arr(Obj({{"id", kInt},
                            {"face_id", kInt},
                            {"analyst", kStr},
                            {"verdict", verdict},
                            {"note", kStr},
                            {"at", kTime},
                            {"confirmed_by", kStr},
                            {"confirmed_at", kTime},
                            {"confirmed", kBool}}))}},
      {"search_id", "case_id", "user", "justification", "at", "candidates", "reviews"});
  s["Verify"] = Obj({{"score", kNum},
                     {"fmr", Described(kNum, "the FMR of a comparison scoring this much")},
                     {"threshold", kNum},
                     {"threshold_fmr", kNum},
                     {"decision", Enum({"same", "different", "undecided"})},
                     {"reason", Described(kStr, "for undecided: which face is too poor, and why")},
                     {"above_fmr_1e-3", kBool},
                     {"above_fmr_1e-4", kBool},
                     {"face_a", Ref("Face")},
                     {"face_b", Ref("Face")},
                     {"warnings", Arr(kStr)},
                     {"notice", kStr}},
                    {"score", "decision"});
  s["Source"] = Obj({{"name", kStr},
                     {"description", kStr},
                     {"legal_basis", kStr},
                     {"collected_by", kStr},
                     {"collected_at", kStr},
                     {"retention_until", kStr},
                     {"created_at", kTime}},
                    {"name", "legal_basis"});
  s["Sources"] = Obj({{"sources", Arr(Ref("Source"))}}, {"sources"});
  s["Subjects"] = Obj({{"subjects", Arr(Obj({{"label", kStr}, {"notes", kStr}, {"faces", kInt}}))}}, {"subjects"});
  s["EnrollmentStarted"] = Obj({{"job", kInt}, {"files", kInt}, {"status", Described(kStr, "where to follow it")}},
                               {"job", "files", "status"});
  s["EnrollmentJob"] = Obj({{"job", kInt},
                            {"state", Enum({"queued", "running", "done", "stopped", "failed"})},
                            {"source", kStr},
                            {"files", kInt},
                            {"done", kInt},
                            {"enrolled", kInt},
                            {"faces", kInt},
                            {"duplicates", kInt},
                            {"problems", Arr(Obj({{"file", kStr}, {"reason", kStr}}))},
                            {"error", kStr}},
                           {"job", "state"});
  s["Erasure"] = Obj({{"erased", kStr}, {"faces", kInt}, {"note", kStr}}, {"erased", "faces"});
  s["Retention"] =
      Obj({{"today", kStr}, {"erased", Arr(Obj({{"erased", kStr}, {"faces", kInt}, {"images", kInt}}))}}, {"erased"});
  s["OptOut"] = Obj({{"opted_out", kBool}, {"image_sha256", kSha}}, {"opted_out"});
  s["User"] = Obj({{"id", kInt},
                   {"name", kStr},
                   {"role", roles},
                   {"disabled", kBool},
                   {"created_at", kTime},
                   {"sources", Described(Arr(kStr), "the sources an enroller may enrol into")}},
                  {"name", "role"});
  s["Users"] = Obj({{"users", Arr(Ref("User"))}}, {"users"});
  s["Token"] = Obj({{"id", kInt},
                    {"user", kStr},
                    {"label", kStr},
                    {"created_at", kTime},
                    {"expires_at", kTime},
                    {"revoked_at", kTime}},
                   {"id", "user"});
  s["IssuedToken"] =
      Extended(s["Token"], {{"secret", Described(kStr, "lu_...; shown only in this answer")}}, {"id", "user", "secret"});
  s["Tokens"] = Obj({{"tokens", Arr(Ref("Token"))}}, {"tokens"});
  s["TokenRevoked"] = Obj({{"revoked", kInt}}, {"revoked"});
  s["AuditRecord"] = Obj({{"seq", kInt},
                          {"at", kTime},
                          {"actor", kStr},
                          {"action", kStr},
                          {"case_id", kInt},
                          {"details", Described(json::object(), "the action's details (an object)")},
                          {"prev_hash", kStr},
                          {"hash", kStr}},
                         {"seq", "at", "actor", "action", "hash"});
  s["AuditRecords"] = Obj({{"records", Arr(Ref("AuditRecord"))}}, {"records"});
  s["AuditVerification"] = Obj({{"ok", kBool},
                                {"records", kInt},
                                {"first_bad_seq", kInt},
                                {"problem", kStr},
                                {"head", Described(kStr, "the last record's hash")}},
                               {"ok", "records", "head"});
  s["Stats"] = Obj({{"searches", kInt},
                    {"searches_per_user", Arr(Obj({{"user", kStr}, {"searches", kInt}}))},
                    {"searches_per_case", Arr(Obj({{"case_id", kInt}, {"title", kStr}, {"searches", kInt}}))},
                    {"low_quality_share", kNum},
                    {"above_threshold_share", kNum},
                    {"reviews", Obj({{"possible_match", kInt},
                                     {"not_a_match", kInt},
                                     {"inconclusive", kInt},
                                     {"confirmed", kInt}})}},
                   {"searches"});
  // Persons (person_investigations.h: PersonSummaryJson, PersonFaceJson, PersonEventJson).
  const json person = Obj({{"id", kInt},
                           {"name", Described(kStr, "the subject's name; \"\" for an unnamed person")},
                           {"faces", kInt},
                           {"photos", kInt},
                           {"weakest_link", Described(kNum, "the lowest similarity holding the person together")},
                           {"nearest_other", Described(kNum, "the highest similarity to another person's face")},
                           {"margin", Described(kNum, "weakest_link - nearest_other: the smaller, the more doubtful")},
                           {"nearest_person", Described(kInt, "whose face that is (0: none)")},
                           {"first_seen", kTime},
                           {"last_seen", kTime}},
                          {"id", "name", "faces", "margin"});
  const json person_face = Obj({{"face_id", kInt},
                                {"image_id", kInt},
                                {"image", Described(kStr, "the photo's path or URI")},
                                {"image_sha256", kSha},
                                {"captured_at", kTime},
                                {"source", kStr},
                                {"box", box},
                                {"quality", kNum},
                                {"placed_by",
                                 Described(kStr, "clustering, subject, the analyst who put it there, or pending")},
                                {"thumbnail", Described(kStr, "the face crop's URL (within the same case)")}},
                               {"face_id", "box", "thumbnail"});
  const json event = Obj({{"id", kInt},
                          {"at", kTime},
                          {"actor", kStr},
                          {"action", Enum({"name", "merge", "split", "mark", "undo"})},
                          {"details", json::object()},
                          {"undone_by", Described(kInt, "the undo that took it back (0: none)")}},
                         {"id", "action"});
  s["PersonList"] = Obj({{"persons", Arr(person)},
                         {"total", kInt},
                         {"pending", Described(kInt, "faces waiting for a person")},
                         {"offset", kInt},
                         {"audit_seq", kInt}},
                        {"persons", "total"});
  s["PersonFaces"] = Obj({{"face_list", Arr(person_face)}, {"audit_seq", kInt}}, {"face_list"});
  const json vote = Obj(
      {{"close_neighbours", Described(kInt, "neighbours at or above the link threshold that are in a person")},
       {"leading_person", Described(kInt, "the person with the most of their similarity (0: none)")},
       {"leading_neighbours", Described(kInt, "how many of the close neighbours are in it")},
       {"leading_share", Described(kNum, "its share of their similarity, 0 to 1")},
       {"share_needed", Described(kNum, "the share a face needs to join a person (0.75)")},
       {"reason", Enum({"neighbours disagree", "same photo", "marked not this person", "no close neighbour",
                        "can join now"})}},
      {"close_neighbours", "leading_share", "share_needed", "reason"});
  const json pending_face = Extended(person_face, {{"vote", vote}}, {"face_id", "box", "thumbnail", "vote"});
  s["PendingFaces"] = Obj({{"faces", Described(Arr(pending_face), "by face id; placed_by is \"pending\"")},
                           {"total", Described(kInt, "faces waiting for a person in all")},
                           {"offset", kInt},
                           {"audit_seq", kInt},
                           {"notice", kStr}},
                          {"faces", "total"});
  s["Person"] = Extended(person, {{"face_list", Arr(person_face)}, {"audit_seq", kInt}, {"notice", kStr}},
                         {"id", "name", "faces", "margin", "face_list"});
  s["PersonHistory"] = Obj({{"changes", Arr(event)}}, {"changes"});
  s["PersonChange"] = Obj({{"event", event}, {"audit_seq", kInt}}, {"event"});
  s["ReclusterReport"] = Obj({{"faces", kInt},
                              {"persons", kInt},
                              {"pending", kInt},
                              {"singletons", kInt},
                              {"links", kInt},
                              {"kept_apart", kInt},
                              {"seconds_knn", kNum},
                              {"seconds_cluster", kNum}},
                             {"faces", "persons"});
  s["ReclusterJob"] = Obj(
      {{"job", kInt},
       {"state", Described(Enum({"queued", "running", "done", "failed"}),
                           "queued: waiting for the gallery (an enrolment chunk, a search)")},
       {"stage", Described(Enum({"", "neighbours", "clustering", "constraints", "storing"}),
                           "the running stage (\"\" before the first)")},
       {"done", Described(kInt, "items of the stage done: faces searched, groups checked or written")},
       {"total", Described(kInt, "items of the stage in all")},
       {"elapsed_seconds", Described(kNum, "since the request; once finished, the whole time")},
       {"result", {{"allOf", json::array({Ref("ReclusterReport")})},
                   {"nullable", true},
                   {"description", "the rebuild's counts once done (null before)"}}},
       {"error", Described(kStr, "why it failed (\"\" otherwise)")},
       {"status", Described(kStr, "the URL that follows the job")}},
      {"job", "state", "stage", "done", "total", "elapsed_seconds", "status"});
  // The co-appearance network (network_investigations.h: *AnswerJson).
  const json net_report = Obj({{"persons", kInt},
                               {"ties", kInt},
                               {"faces", kInt},
                               {"photos", kInt},
                               {"group_photos", kInt},
                               {"faces_left_out_purpose",
                                Described(kInt, "faces whose source does not allow the purpose network")},
                               {"photos_left_out_purpose", kInt},
                               {"faces_unplaced", Described(kInt, "faces in no person yet")},
                               {"faces_opted_out", kInt}},
                              {"persons", "ties", "faces_left_out_purpose"});
  const json net_person = Obj({{"id", kInt},
                               {"name", Described(kStr, "\"\" for an unnamed person")},
                               {"label", Described(kStr, "the name, or \"person N\"")},
                               {"faces", kInt},
                               {"photos", kInt},
                               {"ties", kInt},
                               {"face_id", Described(kInt, "a representative face")},
                               {"thumbnail", Described(kStr, "its crop's URL (within the same case)")}},
                              {"id", "label"});
  const json shared_photo = Obj({{"image_id", kInt},
                                 {"uri", kStr},
                                 {"sha256", kSha},
                                 {"captured_at", kTime},
                                 {"source", kStr},
                                 {"face_a", kInt},
                                 {"box_a", box},
                                 {"face_b", kInt},
                                 {"box_b", box},
                                 {"persons_in_photo", kInt},
                                 {"thumbnail_a", kStr},
                                 {"thumbnail_b", kStr}},
                                {"image_id", "uri", "source", "face_a", "face_b"});
  const json answer = Obj({{"notice", kStr}, {"report", net_report}, {"people", Arr(net_person)}, {"audit_seq", kInt}},
                          {"notice", "report", "people"});
  s["NetworkAssociates"] = Extended(answer,
                                    {{"in_network", Described(kBool, "false: the person's faces are all left out")},
                                     {"person", net_person},
                                     {"associates", Arr(Obj({{"person", kInt},
                                                             {"name", kStr},
                                                             {"shared_photos", kInt},
                                                             {"score", kNum},
                                                             {"photos", Arr(shared_photo)}}))}},
                                    {"notice", "report", "person", "associates"});
  s["NetworkPath"] = Extended(answer,
                              {{"connected", kBool},
                               {"persons", Arr(kInt)},
                               {"links", Arr(Obj({{"from", kInt},
                                                  {"to", kInt},
                                                  {"shared_photos", kInt},
                                                  {"photos", Arr(shared_photo)}}))}},
                              {"notice", "report", "persons", "links"});
  s["NetworkCommunities"] = Extended(answer,
                                     {{"algorithm", kStr},
                                      {"quality", kNum},
                                      {"isolated", Described(kInt, "persons linked to nobody")},
                                      {"communities", Arr(Obj({{"id", kInt},
                                                               {"members", Arr(kInt)},
                                                               {"internal_ties", kInt},
                                                               {"internal_photos", kInt}}))}},
                                     {"notice", "report", "communities"});
  s["NetworkBrokers"] = Extended(answer,
                                 {{"algorithm", kStr},
                                  {"brokers", Arr(Obj({{"person", kInt},
                                                       {"name", kStr},
                                                       {"score", kNum},
                                                       {"betweenness", kNum},
                                                       {"closure", kNum},
                                                       {"communities", kInt},
                                                       {"ties", kInt}}))}},
                                 {"notice", "report", "brokers"});
  s["NetworkNeighbourhood"] = Extended(answer,
                                       {{"in_network", kBool},
                                        {"centre", kInt},
                                        {"nodes", Arr(Obj({{"person", kInt},
                                                           {"name", kStr},
                                                           {"label", kStr},
                                                           {"depth", kInt},
                                                           {"photos", kInt},
                                                           {"face_id", kInt},
                                                           {"thumbnail", kStr}}))},
                                        {"edges", Arr(Obj({{"a", kInt},
                                                           {"b", kInt},
                                                           {"weight", Described(kInt, "shared photos")},
                                                           {"photos", Arr(shared_photo)}}))},
                                        {"truncated", kBool}},
                                       {"notice", "report", "nodes", "edges"});
  // network.h's ToJson: the whole network, for other tools.
  s["NetworkExport"] = Obj({{"report", Extended(net_report, {{"purpose", kStr}})},
                            {"persons", Arr(Obj({{"id", kInt},
                                                 {"name", kStr},
                                                 {"faces", kInt},
                                                 {"photos", kInt},
                                                 {"ties", kInt},
                                                 {"face_id", kInt}}))},
                            {"ties", Arr(Obj({{"a", kInt},
                                              {"b", kInt},
                                              {"weight", kInt},
                                              {"photos", Arr(shared_photo)}}))}},
                           {"report", "persons", "ties"});
  s["SigningKey"] = Obj({{"algorithm", Enum({"Ed25519"})},
                         {"public_key", Described(kStr, "the 32 public key bytes in standard base64 (44 characters)")},
                         {"public_key_encoding", kStr},
                         {"fingerprint", Described(kSha, "SHA-256 of the 32 public key bytes, hex")},
                         {"fingerprint_of", kStr}},
                        {"algorithm", "public_key", "fingerprint"});
  s["OpenApiDocument"] =
      Obj({{"openapi", kStr}, {"info", json::object()}, {"paths", json::object()}, {"components", json::object()}},
          {"openapi", "paths"});
  return s;
}

// A route's success response: its status, what it means and its content.
struct Success {
  const char* code = "200";
  std::string description = "OK";
  json content;  // {media type: {schema}}; null when the route has no schema yet
};

Success SuccessOf(const std::string& key) {
  auto as_json = [](const char* code, const char* what, const std::string& schema) {
    return Success{code, what, {{"application/json", {{"schema", Ref(schema)}}}}};
  };
  auto as = [](const char* type, const char* what, json schema) {
    return Success{"200", what, {{type, {{"schema", std::move(schema)}}}}};
  };
  static const std::map<std::string, std::string> ok = {
      {"GET /healthz", "Health"},
      {"POST /v1/session", "SignIn"},
      {"GET /v1/session", "Session"},
      {"GET /v1/openapi.json", "OpenApiDocument"},
      {"GET /v1/me", "Me"},
      {"DELETE /v1/session", "SignedOut"},
      {"GET /v1/analysts", "Analysts"},
      {"GET /v1/gallery", "Gallery"},
      {"GET /v1/differentials", "DifferentialsTable"},
      {"POST /v1/detect", "Detect"},
      {"GET /v1/cases", "CaseList"},
      {"GET /v1/cases/{id}", "CaseDetail"},
      {"POST /v1/cases/{id}/close", "Case"},
      {"POST /v1/cases/{id}/members", "CaseMember"},
      {"POST /v1/cases/{id}/searches", "Search"},
      {"POST /v1/cases/{id}/verify", "Verify"},
      {"GET /v1/searches/{id}", "RecordedSearch"},
      {"POST /v1/reviews/{id}/confirm", "Review"},
      {"GET /v1/sources", "Sources"},
      {"GET /v1/subjects", "Subjects"},
      {"GET /v1/enrollments/{id}", "EnrollmentJob"},
      {"POST /v1/erasures", "Erasure"},
      {"POST /v1/retention", "Retention"},
      {"GET /v1/users", "Users"},
      {"POST /v1/users/{name}", "User"},
      {"POST /v1/users/{name}/grants", "User"},
      {"GET /v1/tokens", "Tokens"},
      {"DELETE /v1/tokens/{id}", "TokenRevoked"},
      {"GET /v1/audit", "AuditRecords"},
      {"GET /v1/audit/verify", "AuditVerification"},
      {"GET /v1/stats", "Stats"},
      {"GET /v1/persons", "PersonList"},
      {"GET /v1/persons/history", "PersonHistory"},
      {"GET /v1/persons/{id}", "Person"},
      {"GET /v1/persons/{id}/faces", "PersonFaces"},
      {"GET /v1/persons/pending", "PendingFaces"},
      {"POST /v1/persons/{id}/name", "PersonChange"},
      {"POST /v1/persons/{id}/merge", "PersonChange"},
      {"POST /v1/persons/{id}/split", "PersonChange"},
      {"POST /v1/persons/{id}/mark", "PersonChange"},
      {"POST /v1/persons/history/{id}/undo", "PersonChange"},
      {"GET /v1/persons/recluster/{id}", "ReclusterJob"},
      {"GET /v1/network/persons/{id}/associates", "NetworkAssociates"},
      {"GET /v1/network/persons/{id}/neighbourhood", "NetworkNeighbourhood"},
      {"GET /v1/network/persons/{id}/path/{other}", "NetworkPath"},
      {"GET /v1/network/communities", "NetworkCommunities"},
      {"GET /v1/network/brokers", "NetworkBrokers"},
      {"GET /v1/signing-key", "SigningKey"},
  };
  static const std::map<std::string, std::string> created = {
      {"POST /v1/cases", "Case"},   {"POST /v1/sources", "Source"},       {"POST /v1/users", "User"},
      {"POST /v1/optouts", "OptOut"}, {"POST /v1/searches/{id}/reviews", "Review"},
      {"POST /v1/users/{name}/tokens", "IssuedToken"},
  };
  if (auto it = ok.find(key); it != ok.end()) return as_json("200", "OK", it->second);
  if (auto it = created.find(key); it != created.end()) return as_json("201", "Created", it->second);
  if (key == "POST /v1/enrollments")
    return as_json("202", "Accepted: the job runs in the background", "EnrollmentStarted");
  if (key == "POST /v1/persons/recluster")
    return as_json("202", "Accepted: the rebuild runs in the background (GET its status URL)", "ReclusterJob");
  if (key == "GET /") return as("text/html", "the console's page", kStr);
  if (key == "GET /assets/{file}") return as("*/*", "a console file (JavaScript, CSS, SVG, PNG or icon)", kFile);
  if (key == "GET /metrics") return as("text/plain", "Prometheus text format, version 0.0.4", kStr);
  if (key == "GET /v1/searches/{id}/faces/{face}/thumbnail") return as("image/jpeg", "the face crop", kFile);
  if (key == "GET /v1/persons/{id}/faces/{face}/thumbnail") return as("image/jpeg", "the face crop", kFile);
  if (key == "GET /v1/persons/pending/{face}/thumbnail") return as("image/jpeg", "the face crop", kFile);
  if (key == "GET /v1/network/faces/{face}/thumbnail") return as("image/jpeg", "the face crop", kFile);
  if (key == "POST /v1/cases/{id}/export")
    return Success{"200",
                   "the case's evidence bundle as a ZIP download (docs/evidence.md); headers X-Lineup-Manifest-SHA256 "
                   "(also in the export's audit record), X-Lineup-Key-Fingerprint and X-Lineup-Audit-Seq",
                   {{"application/zip", {{"schema", kFile}}}}};
  if (key == "GET /v1/network/export")
    return Success{"200", "the network as GraphML (format=graphml) or JSON (format=json), as a download",
                   {{"application/graphml+xml", {{"schema", kStr}}}, {"application/json", {{"schema", Ref("NetworkExport")}}}}};
  return Success{};  // a route without a schema: tests/server_test.cc should fail on it
}

// Request bodies of the routes that take one.
json RequestBody(const std::string& key) {
  auto json_body = [](json props, std::vector<std::string> required) {
    return json{
        {"required", true},
        {"content",
         {{"application/json", {{"schema", {{"type", "object"}, {"properties", props}, {"required", required}}}}}}}};
  };
  auto multipart = [](json props, std::vector<std::string> required) {
    return json{
        {"required", true},
        {"content",
         {{"multipart/form-data", {{"schema", {{"type", "object"}, {"properties", props}, {"required", required}}}}}}}};
  };
  const json& str = kStr;
  const json& num = kNum;
  const json& integer = kInt;
  const json& file = kFile;
  if (key == "POST /v1/session") return json_body({{"name", str}, {"password", str}}, {"name", "password"});
  if (key == "POST /v1/cases") return json_body({{"title", str}, {"authority", str}}, {"title", "authority"});
  if (key == "POST /v1/cases/{id}/members") return json_body({{"user", str}}, {"user"});
  if (key == "POST /v1/cases/{id}/searches") {
    const json fpir = Described(num, "the decision: at most this share of searches for someone not in the gallery "
                                     "return a lead (default 0.01)");
    const json fmr = Described(num, "for experts: a per-comparison false match rate instead of fpir");
    const json subjects = Described(str, "true: also group the candidates by known subject (looks deeper)");
    const json all = Described(str, "true: also return candidates that are not leads");
    const json keep = Described(str, "true: the case keeps the probe photo for its evidence export (the searched "
                                     "face's crop is always kept)");
    json b = multipart({{"image", file},
                        {"justification", str},
                        {"face", Described(integer, "which face of the photo (1-based, as numbered in probe.faces; "
                                                    "default: the largest usable)")},
                        {"top", integer},
                        {"fpir", fpir},
                        {"fmr", fmr},
                        {"all", all},
                        {"subjects", subjects},
                        {"keep_probe", keep}},
                       {"image", "justification"});
    b["content"]["application/json"] = {{"schema",
                                         {{"type", "object"},
                                          {"properties",
                                           {{"vector", {{"type", "array"}, {"items", num}}},
                                            {"model", str},
                                            {"justification", str},
                                            {"top", integer},
                                            {"fpir", fpir},
                                            {"fmr", fmr},
                                            {"all", {{"type", "boolean"}}},
                                            {"subjects", {{"type", "boolean"}}}}},
                                          {"required", {"vector", "justification"}}}}};
    // The photo as the raw body: the justification in the X-Lineup-Justification header,
    // the other fields in the query (parameters below).
    b["content"]["image/*"] = {{"schema", file}};
    b["content"]["application/octet-stream"] = {{"schema", file}};
    return b;
  }
  if (key == "POST /v1/cases/{id}/verify")
    return multipart({{"image_a", file},
                      {"image_b", file},
                      {"justification", str},
                      {"fmr", Described(num, "the false match rate of the decision (default 0.001)")}},
                     {"image_a", "image_b", "justification"});
  if (key == "POST /v1/detect") {
    json b = multipart({{"image", file}}, {"image"});
    b["content"]["image/*"] = {{"schema", file}};
    return b;
  }
  if (key == "POST /v1/searches/{id}/reviews")
    return json_body({{"face_id", integer},
                      {"verdict", {{"type", "string"}, {"enum", {"possible_match", "not_a_match", "inconclusive"}}}},
                      {"note", str}},
                     {"face_id", "verdict"});
  if (key == "POST /v1/sources")
    return json_body({{"name", str},
                      {"description", str},
                      {"legal_basis", str},
                      {"collected_by", str},
                      {"collected_at", str},
                      {"retention_until", str}},
                     {"name", "legal_basis"});
  if (key == "POST /v1/enrollments")
    return multipart({{"source", str}, {"files", {{"type", "array"}, {"items", file}}}}, {"source", "files"});
  if (key == "POST /v1/erasures")
    return json_body(
        {{"kind", {{"type", "string"}, {"enum", {"subject", "source", "image"}}}}, {"key", str}, {"reason", str}},
        {"kind", "key", "reason"});
  if (key == "POST /v1/optouts") return multipart({{"image", file}, {"reason", str}}, {"image", "reason"});
  if (key == "POST /v1/users")
    return json_body({{"name", str},
                      {"role", {{"type", "string"}, {"enum", {"admin", "analyst", "enroller", "auditor"}}}},
                      {"password", str}},
                     {"name", "role", "password"});
  if (key == "POST /v1/users/{name}") return json_body({{"role", str}, {"disabled", {{"type", "boolean"}}}}, {});
  if (key == "POST /v1/users/{name}/grants") return json_body({{"source", str}}, {"source"});
  // Persons' changes: the case and why, then what.
  const json in_case = Described(integer, "the open case the change belongs to");
  const json why = Described(str, "why, in a sentence (kept in the audit record)");
  if (key == "POST /v1/persons/{id}/name")
    return json_body({{"case_id", in_case}, {"justification", why}, {"name", str}}, {"case_id", "justification", "name"});
  if (key == "POST /v1/persons/{id}/merge")
    return json_body({{"case_id", in_case}, {"justification", why}, {"other", Described(integer, "the person merged in")}},
                     {"case_id", "justification", "other"});
  if (key == "POST /v1/persons/{id}/split")
    return json_body({{"case_id", in_case}, {"justification", why}, {"faces", Arr(integer)}},
                     {"case_id", "justification", "faces"});
  if (key == "POST /v1/persons/{id}/mark")
    return json_body({{"case_id", in_case}, {"justification", why}, {"face", integer}},
                     {"case_id", "justification", "face"});
  if (key == "POST /v1/persons/history/{id}/undo")
    return json_body({{"case_id", in_case}, {"justification", why}}, {"case_id", "justification"});
  if (key == "POST /v1/persons/recluster")
    return json_body({{"case_id", Described(integer, "analysts: their open case; admins: none")}, {"justification", why}},
                     {"justification"});
  if (key == "POST /v1/users/{name}/tokens") return json_body({{"label", str}, {"days", integer}}, {});
  if (key == "POST /v1/cases/{id}/export")
    return json_body({{"justification", Described(str, "why the case is exported (a court order, a disclosure "
                                                       "request); audited")}},
                     {"justification"});
  return nullptr;
}

}  // namespace

json Server::Impl::OpenApi() const {
  json paths = json::object();
  static const std::regex param(R"(\{([a-z_]+)\})");
  for (const RouteInfo& r : route_infos) {
    const std::string key = r.method + " " + r.path;
    json op = {{"summary", r.summary}, {"operationId", key}};
    json roles = json::array();
    for (Role role : r.roles) roles.push_back(RoleName(role));
    op["x-roles"] = roles;
    if (r.roles.empty()) op["security"] = json::array();
    json params = json::array();
    for (auto it = std::sregex_iterator(r.path.begin(), r.path.end(), param); it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1];
      params.push_back({{"name", name},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", name == "id" || name == "face" || name == "other" ? "integer" : "string"}}}});
    }
    if (key == "GET /v1/audit")
      for (const char* q : {"since", "case", "actor", "action", "limit"})
        params.push_back({{"name", q}, {"in", "query"}, {"schema", {{"type", "string"}}}});
    if (key == "POST /v1/cases/{id}/searches") {
      // The raw-body form (the photo is the body): why in a header, never in the URL.
      params.push_back({{"name", kJustificationHeader},
                        {"in", "header"},
                        {"required", false},
                        {"schema", {{"type", "string"}}},
                        {"description", "with the photo as the raw body (image/* or application/octet-stream), "
                                        "required: why, percent-encoded UTF-8; ?justification= is refused (400)"}});
      params.push_back({{"name", kCaseHeader},
                        {"in", "header"},
                        {"required", false},
                        {"schema", {{"type", "integer"}}},
                        {"description", "optional with a raw body; if sent, the case of the URL"}});
      for (const char* q : {"top", "fpir", "fmr", "face", "all", "subjects"})
        params.push_back({{"name", q},
                          {"in", "query"},
                          {"schema", {{"type", "string"}}},
                          {"description", "with a raw body only: as the multipart field of that name"}});
    }
    if (key == "GET /v1/audit/verify")
      params.push_back({{"name", "expect_head"}, {"in", "query"}, {"schema", {{"type", "string"}}}});
    if (key == "GET /v1/differentials")
      params.push_back({{"name", "threshold"},
                        {"in", "query"},
                        {"schema", {{"type", "number"}}},
                        {"description", "also a row at this threshold (the one a decision used)"}});
    // Reads of persons and the network within a case: the case and why in headers (never
    // in the URL, which proxies, logs and histories keep); face crops, fetched as images,
    // take the case alone in the query.
    const bool rebuild_job = key == "GET /v1/persons/recluster/{id}";  // no case: rebuilds are the gallery's
    const bool within_case =
        (key.rfind("GET /v1/persons", 0) == 0 && !rebuild_job) || key.rfind("GET /v1/network/", 0) == 0;
    if (within_case && key.find("thumbnail") == std::string::npos) {
      params.push_back({{"name", kCaseHeader},
                        {"in", "header"},
                        {"required", true},
                        {"schema", {{"type", "integer"}}},
                        {"description", "the open case the read belongs to"}});
      params.push_back({{"name", kJustificationHeader},
                        {"in", "header"},
                        {"required", true},
                        {"schema", {{"type", "string"}}},
                        {"description", "why, percent-encoded UTF-8 (as encodeURIComponent writes it; audited)"}});
    } else if (within_case) {
      params.push_back({{"name", "case"},
                        {"in", "query"},
                        {"required", true},
                        {"schema", {{"type", "integer"}}},
                        {"description", "the case whose recorded answer showed the face"}});
    }
    if (within_case && key.rfind("GET /v1/persons", 0) == 0) {
      if (key.find("thumbnail") == std::string::npos)
        params.push_back({{"name", "limit"}, {"in", "query"}, {"schema", {{"type", "integer"}}}});
      if (key == "GET /v1/persons" || key == "GET /v1/persons/pending")
        params.push_back({{"name", "offset"}, {"in", "query"}, {"schema", {{"type", "integer"}}}});
    }
    if (key.rfind("GET /v1/network/", 0) == 0) {
      auto query = [&](const char* name, const char* type, bool required, const char* what) {
        params.push_back(
            {{"name", name}, {"in", "query"}, {"required", required}, {"schema", {{"type", type}}}, {"description", what}});
      };
      if (key.find("associates") != std::string::npos || key.find("brokers") != std::string::npos)
        query("top", "integer", false, "how many (default 10, at most 1000)");
      if (key.find("communities") != std::string::npos || key.find("brokers") != std::string::npos)
        query("algorithm", "string", false, "leiden:modularity (default), louvain or infomap");
      if (key.find("neighbourhood") != std::string::npos) {
        query("depth", "integer", false, "links from the person (1 to 3, default 1)");
        query("max_nodes", "integer", false, "persons at most (1 to 200, default 30)");
      }
      if (key.find("export") != std::string::npos) query("format", "string", false, "graphml (default) or json");
    }
    if (!params.empty()) op["parameters"] = params;
    json body = RequestBody(key);
    if (!body.is_null()) op["requestBody"] = body;
    const Success ok = SuccessOf(key);
    json success = {{"description", ok.description}};
    if (!ok.content.is_null()) success["content"] = ok.content;
    json responses = {{ok.code, success}};
    const json err = {{"content", {{"application/json", {{"schema", Error()}}}}}};
    auto with = [&](const char* code, const char* what) {
      json e = err;
      e["description"] = what;
      responses[code] = e;
    };
    with("400", "bad input");
    if (!r.roles.empty()) {
      with("401", "not signed in");
      with("403", "role, case or CSRF token does not allow it");
    }
    if (r.path.find('{') != std::string::npos) with("404", "not found: nothing of that name or number");
    if (r.method == "POST") {
      with("413", "body over the upload limit");
      with("415", "wrong content type");
    }
    if (key == "POST /v1/cases/{id}/searches" || key == "POST /v1/cases/{id}/verify" || key == "POST /v1/detect" ||
        key == "POST /v1/optouts")
      with("422", "no usable face in the photo");
    if (key == "POST /v1/persons/recluster") with("409", "a rebuild is under way already (the message names its job), "
                                                        "or the case is closed");
    with("503", "busy: retry after the Retry-After header's seconds");
    op["responses"] = responses;
    std::string lower = r.method;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    paths[r.path][lower] = op;
  }
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "Lineup"},
            {"version", "1"},
            {"description",
             "Face search for accountable investigations. Every candidate is a lead for human review, not an "
             "identification. x-roles lists the roles allowed on each operation."}}},
          {"paths", paths},
          {"security", {{{"session", json::array()}}, {{"token", json::array()}}}},
          {"components",
           {{"securitySchemes",
             {{"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "lineup_session"}}},
              {"token", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas", Schemas()}}}};
}

}  // namespace lineup::server
