// The HTML report of a gallery search: the probe face beside each candidate's face, with
// rank, score, FPIR, quality and provenance, the decision and the case it was made in, in
// one self-contained file (pictures embedded) that an analyst can open anywhere without
// the tool. A probe photo with several faces gets a numbered overview of them, the
// searched one marked.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "lineup/investigations.h"
#include "lineup/status.h"

namespace lineup::cli {

// probe_path: the probe photo ("" for a search by vector). thumbnail_of: the gallery's
// stored thumbnail of a face ("" to crop the original photo instead). calibration: the
// one the decision came from; its demographic differentials (differentials.h) are put in
// the report as a table, which the decision's statement links to.
Status WriteSearchReport(const std::string& path, const SearchResult& result, const std::string& probe_path,
                         const std::function<std::string(int64_t face_id)>& thumbnail_of,
                         const Calibration* calibration = nullptr);

}  // namespace lineup::cli
