// Private to src/investigate/: the face crops that persons' and the network's answers
// show (person_investigations.h, network_investigations.h), in one place. Each answer
// records the faces it showed as disclosures (disclosures.h), and a crop is served only
// to the caller an answer showed it to, in that case; the record is the catalog's, so it
// holds across restarts. Safe to use from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lineup/accountability.h"
#include "lineup/disclosures.h"
#include "lineup/gallery.h"
#include "lineup/status.h"

namespace lineup {

class FaceCrops {
 public:
  // Runs `body` while holding the gallery; empty: body runs directly.
  using WithGallery = std::function<Status(const std::function<Status()>& body)>;

  // `shared` (may be null) must outlive this object; without it the disclosures are
  // opened from the gallery's catalog on first use.
  FaceCrops(Gallery* gallery, Disclosures* shared, WithGallery with_gallery)
      : gallery_(gallery), shared_(shared), with_gallery_(std::move(with_gallery)) {}

  // Records that the answer of audit record `audit_seq` showed `faces` to `who` in
  // `case_id`. Nothing to record for local operators or outside a case (no crop is served
  // to them through an answer). Unavailable if it cannot be recorded: the caller
  // withholds the answer, whose crops would otherwise be refused.
  Status Disclose(const Principal& who, int64_t case_id, const std::vector<int64_t>& faces, int64_t audit_seq);

  // The path of `face_id`'s crop if a recorded answer in `case_id` showed it to `who`:
  // the checks of `accountability` first (an analyst, a member of that open case), then
  // PermissionDenied ("... (`hint`)") if no answer showed it, NotFound if the face has no
  // crop (erased since).
  Result<std::string> Path(const Accountability& accountability, const Principal& who, int64_t case_id,
                           int64_t face_id, const std::string& hint);

  // The path of `face_id`'s crop, for a caller that made its own checks (the evidence
  // export of a case, whose searches showed the face): NotFound if the face has no crop
  // (erased since).
  Result<std::string> CropOf(int64_t face_id);

 private:
  Result<Disclosures*> Record();

  Gallery* gallery_;
  Disclosures* shared_;
  WithGallery with_gallery_;
  std::mutex mu_;  // guards owned_
  std::unique_ptr<Disclosures> owned_;
};

}  // namespace lineup
