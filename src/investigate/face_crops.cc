#include "investigate/face_crops.h"

#include <filesystem>

namespace lineup {

Result<Disclosures*> FaceCrops::Record() {
  if (shared_) return shared_;
  if (!gallery_) return Status::FailedPrecondition("no gallery");
  std::lock_guard<std::mutex> lock(mu_);
  if (!owned_) {
    auto d = Disclosures::Open((std::filesystem::path(gallery_->dir()) / "catalog.sqlite").string());
    if (!d.ok()) return d.status().WithContext("the record of faces shown");
    owned_ = std::move(*d);
  }
  return owned_.get();
}

Status FaceCrops::Disclose(const Principal& who, int64_t case_id, const std::vector<int64_t>& faces,
                           int64_t audit_seq) {
  if (case_id <= 0 || IsLocal(who) || faces.empty()) return Status::OK();
  auto record = Record();
  Status s = record.ok() ? (*record)->Record(who.name, case_id, faces, audit_seq) : record.status();
  if (!s.ok())
    return Status::Unavailable("the faces this answer shows could not be recorded, so it is withheld (" +
                               s.message() + ")");
  return Status::OK();
}

Result<std::string> FaceCrops::Path(const Accountability& accountability, const Principal& who, int64_t case_id,
                                    int64_t face_id, const std::string& hint) {
  if (Status s = accountability.Authorise(who, case_id, "a face crop of a recorded answer", "seeing a face",
                                          {Role::kAnalyst}, true);
      !s.ok())
    return s;
  auto record = Record();
  if (!record.ok()) return record.status();
  auto shown = (*record)->ShownBy(who.name, case_id, face_id);
  if (!shown.ok()) return shown.status();
  if (*shown == 0)
    return Status::PermissionDenied("face " + std::to_string(face_id) + " was not shown to you in case " +
                                    std::to_string(case_id) + " (" + hint + ")");
  return CropOf(face_id);
}

Result<std::string> FaceCrops::CropOf(int64_t face_id) {
  if (!gallery_) return Status::FailedPrecondition("no gallery");
  std::string path;
  auto body = [&]() -> Status {
    path = gallery_->ThumbnailPath(face_id);
    return Status::OK();
  };
  if (Status st = with_gallery_ ? with_gallery_(body) : body(); !st.ok()) return st;
  if (path.empty()) return Status::NotFound("face " + std::to_string(face_id) + " has no crop (erased?)");
  return path;
}

}  // namespace lineup
