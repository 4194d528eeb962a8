// Disclosures: which faces an accountable answer showed, to whom and in which case, so
// that a face's crop is served only to someone an audited answer showed it to, in that
// case, and the gallery cannot be browsed face by face outside an audited view.
//
// Persons and the co-appearance network (person_investigations.h,
// network_investigations.h) record here every face their answers show (a person's faces,
// the faces waiting for a person, the faces behind a network's links) with the seq of the
// answer's audit record, and ask here before serving a crop. The record lives in the
// gallery's catalog.sqlite (table face_disclosures, component "disclosures" of
// oversight_schema), so it survives a restart of the server; an erased face leaves it at
// once (the catalog's cascade). Safe to use from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lineup/status.h"

namespace lineup {

class Disclosures {
 public:
  // Opens (and migrates) the record of an existing gallery's catalog: NotFound if there
  // is none, Corrupt if it is not a Lineup catalog or holds a newer version of the table.
  static Result<std::unique_ptr<Disclosures>> Open(const std::string& catalog_path);
  ~Disclosures();

  // Records that the answer of audit record `audit_seq` showed `face_ids` to `user` in
  // `case_id` (positive). Faces no longer in the catalog are skipped; a face shown again
  // keeps the seq of the first answer that showed it. All or nothing.
  Status Record(const std::string& user, int64_t case_id, const std::vector<int64_t>& face_ids, int64_t audit_seq);

  // The seq of the first audit record whose answer showed `face_id` to `user` in
  // `case_id`; 0 if none did (or the face is gone).
  Result<int64_t> ShownBy(const std::string& user, int64_t case_id, int64_t face_id);

 private:
  struct Impl;
  explicit Disclosures(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lineup
