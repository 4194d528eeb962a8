// lineup_make_hard_set: writes a deterministic set of hard test material made from LFW:
// a gallery of six people's "web photos" (some composited onto printed clothing and busy
// backgrounds, some with a bystander), degraded video-frame probes of those six and of
// 300 people not in the gallery, pattern-only pictures, canvases of tiny faces and
// strongly blurred photos, with a manifest giving every real face's box and every
// random choice. Same --seed, same bytes. See README.txt in the output for the layout.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <string>
#include <vector>

#include "bench_util.h"
#include "synth_photos.h"

namespace {

namespace fs = std::filesystem;
using lineup::bench::Fmt;
using namespace lineup::synth;

const std::vector<std::string> kSix = {"George_W_Bush",   "Colin_Powell",      "Tony_Blair",
                                       "Donald_Rumsfeld", "Gerhard_Schroeder", "Ariel_Sharon"};
constexpr int kGalleryPerPerson = 40;
constexpr int kCompositesPerPerson = 16;  // of the 40: 40%
constexpr int kBystanderComposites = 10;  // of the 96 composites: about 10%
constexpr int kMatedPerPerson = 15;
constexpr int kNonmated = 300;
constexpr int kPatterns = 60;
constexpr int kSmall = 60;
constexpr int kBlurred = 200;
constexpr int kCleanJpegQuality = 92;  // for pictures whose degradation is not JPEG

struct Row {
  std::string path, kind, identity, faces;
  Params params;
};

class Writer {
 public:
  explicit Writer(fs::path out) : out_(std::move(out)) {}

  // Writes `bytes` to out/rel; false with *error on failure.
  bool Bytes(const std::string& rel, const std::vector<uint8_t>& bytes, std::string* error) {
    const fs::path p = out_ / rel;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!f) {
      *error = p.string() + ": cannot write";
      return false;
    }
    return true;
  }
  bool Copy(const fs::path& from, const std::string& rel, std::string* error) {
    std::ifstream in(from, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) {
      *error = from.string() + ": cannot read";
      return false;
    }
    return Bytes(rel, bytes, error);
  }

 private:
  fs::path out_;
};

// LFW: every person's photos (relative paths, sorted), from identities.tsv.
bool ReadLfw(const fs::path& lfw, std::map<std::string, std::vector<std::string>>* people, std::string* error) {
  std::ifstream f(lfw / "identities.tsv");
  if (!f) {
    *error = (lfw / "identities.tsv").string() + ": cannot read";
    return false;
  }
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    (*people)[line.substr(tab + 1)].push_back(line.substr(0, tab));
  }
  for (auto& [name, photos] : *people) std::sort(photos.begin(), photos.end());
  return true;
}

cv::Mat ReadPhoto(const fs::path& lfw, const std::string& rel, std::string* error) {
  cv::Mat m = cv::imread((lfw / rel).string(), cv::IMREAD_COLOR);
  if (m.empty()) *error = (lfw / rel).string() + ": cannot decode";
  return m;
}

std::string Stem(const std::string& rel) { return fs::path(rel).stem().string(); }

Pattern RandomPattern(Rng& rng, double floral_share) {
  if (rng.Chance(floral_share)) return Pattern::kFloral;
  return kAllPatterns[static_cast<size_t>(rng.Int(1, static_cast<int>(kAllPatterns.size()) - 1))];
}

// A canvas background: a printed pattern, or (if `photo_share` says so) a face-free piece
// of a real photo.
cv::Mat Background(cv::Size size, Rng& rng, const std::vector<BackgroundSource>& groups, double photo_share,
                   Params* p) {
  if (rng.Chance(photo_share)) return CropBackground(groups, size, rng, p);
  const Pattern kind = RandomPattern(rng, 0.4);
  p->Add("bg", PatternName(kind));
  return DrawPattern(kind, size, rng, rng.Uniform(0.7, 1.8), p);
}

// Gallery composite: `lfw` (the subject) on a canvas with a body and a background, and
// `bystander` (if not empty) as a smaller person beside them.
cv::Mat Composite(const cv::Mat& lfw, const cv::Mat& bystander, const std::string& bystander_name, Rng& rng,
                  const std::vector<BackgroundSource>& groups, const std::string& name, Params* p, std::string* faces) {
  static const double kAspects[] = {0.75, 0.75, 0.667, 0.5625};
  const int w = rng.Int(800, 1280);
  const int h = std::max(450, static_cast<int>(std::lround(w * kAspects[rng.Int(0, 3)])));
  p->Add("canvas", Fmt("%dx%d", w, h));
  cv::Mat canvas = Background({w, h}, rng, groups, 0.5, p);

  const cv::Rect2f f0 = LfwFaceBox();
  const double fh = rng.Uniform(80, std::min(250.0, 0.42 * h));
  const double fw = fh * f0.width / f0.height;
  PersonLayout main;
  main.face_height = static_cast<float>(fh);
  main.cutout = rng.Chance(0.5) ? Cutout::kWholePhoto : Cutout::kHeadOval;
  main.clothing = RandomPattern(rng, 0.5);
  // Room for the whole head (hair above the face box) and for some body below.
  const double y_lo = fh * 0.9, y_hi = std::max(y_lo, 0.62 * h);
  double x_lo = std::max(0.12 * w, fw), x_hi = std::min(0.88 * w, w - fw);
  main.face_centre = {static_cast<float>(rng.Uniform(x_lo, x_hi)), static_cast<float>(rng.Uniform(y_lo, y_hi))};

  std::vector<std::string> boxes;
  if (!bystander.empty()) {
    // Behind and beside the subject: on the side with more room, far enough that neither
    // head covers the other's face.
    PersonLayout by;
    const double bh = fh * rng.Uniform(0.45, 0.8), bw = bh * f0.width / f0.height;
    by.face_height = static_cast<float>(bh);
    by.cutout = Cutout::kHeadOval;
    by.clothing = RandomPattern(rng, 0.5);
    const double gap = fw * 1.4 + bw * 1.2;
    const bool left = main.face_centre.x > w / 2.0;
    double bx = main.face_centre.x + (left ? -1 : 1) * (gap + rng.Uniform(0, fw));
    bx = std::clamp(bx, bw, w - bw);
    if (std::abs(bx - main.face_centre.x) < gap) {  // no room: move the subject over
      main.face_centre.x = static_cast<float>(std::clamp(bx + (left ? gap : -gap), fw * 0.6, w - fw * 0.6));
      bx = std::clamp(main.face_centre.x + (left ? -gap : gap), bw * 0.6, w - bw * 0.6);
    }
    const double by_y = std::clamp(main.face_centre.y - fh / 2 + rng.Uniform(-0.2, 0.6) * fh, bh * 0.9, 0.75 * h);
    by.face_centre = {static_cast<float>(bx), static_cast<float>(by_y)};
    const cv::Rect2f box = PlacePerson(&canvas, bystander, by, rng, p, "by.");
    p->Add("by.name", bystander_name);
    boxes.push_back(BoxText(box, bystander_name));
  }
  const cv::Rect2f box = PlacePerson(&canvas, lfw, main, rng, p, "");
  boxes.insert(boxes.begin(), BoxText(box, name));
  for (size_t i = 0; i < boxes.size(); ++i) *faces += (i ? ";" : "") + boxes[i];
  return canvas;
}

// A face cropped from a video frame and degraded: the recipe of mated and non-mated probes.
std::vector<uint8_t> VideoProbe(const cv::Mat& lfw, Rng& rng, Params* p, cv::Rect2f* face) {
  FaceCrop crop;
  crop.margin = rng.Uniform(1.2, 2.0);
  crop.face_px = rng.Uniform(35, 90);
  crop.rotation_deg = rng.Uniform(-12, 12);
  cv::Mat cut = CropFace(lfw, LfwFaceBox(), crop, face);
  const Degradation d = RandomVideoDegradation(rng);
  cv::Mat degraded = Degrade(cut, d, rng);
  p->Add("margin", crop.margin, 2).Add("face_px", crop.face_px, 1).Add("rot", crop.rotation_deg, 1);
  p->Add("size", Fmt("%dx%d", cut.cols, cut.rows));
  p->Append(d.Record());
  return EncodeJpeg(degraded, d.jpeg_quality);
}

// A plain background: one colour, or a soft vertical gradient between two.
cv::Mat PlainBackground(cv::Size size, Rng& rng, Params* p) {
  const cv::Scalar a(rng.Int(20, 235), rng.Int(20, 235), rng.Int(20, 235));
  cv::Mat img(size, CV_8UC3, a);
  if (rng.Chance(0.5)) {
    const cv::Scalar b(rng.Int(20, 235), rng.Int(20, 235), rng.Int(20, 235));
    for (int y = 0; y < size.height; ++y) img.row(y).setTo(a + (b - a) * (double(y) / (size.height - 1)));
    p->Add("bg", "gradient");
  } else {
    p->Add("bg", "plain");
  }
  return img;
}

int Usage() {
  std::fprintf(stderr,
               "usage: lineup_make_hard_set --lfw DIR --groups DIR --out DIR [--seed N] [--replace]\n"
               "  --lfw     the LFW folder (images/ and identities.tsv)\n"
               "  --groups  the shared data's groups/ folder (backgrounds)\n"
               "  --out     where to write; must be empty or absent, unless --replace, which first\n"
               "            deletes what an earlier run wrote there (and nothing else)\n"
               "  --seed    random seed (default 1); the same seed writes the same bytes\n");
  return 2;
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "lineup_make_hard_set: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  lineup::bench::Flags flags;
  std::string error;
  if (!flags.Parse(argc, argv, {"--lfw", "--groups", "--out", "--seed"}, {"--replace", "--help"}, &error)) {
    Fail(error);
    return Usage();
  }
  if (flags.Has("--help") || !flags.Has("--lfw") || !flags.Has("--groups") || !flags.Has("--out")) return Usage();
  int seed_int = 1;
  if (!flags.GetInt("--seed", 1, 0, 2000000000, &seed_int, &error)) return Fail(error);
  const uint64_t seed = static_cast<uint64_t>(seed_int);
  const fs::path lfw = flags.Get("--lfw"), out = flags.Get("--out");
  const std::string groups_dir = flags.Get("--groups");

  // The output folder: ours alone.
  static const char* kOurs[] = {"gallery", "probes", "patterns", "small", "blurred", "manifest.tsv", "README.txt"};
  std::error_code ec;
  if (fs::exists(out)) {
    if (flags.Has("--replace")) {
      for (const char* e : kOurs) fs::remove_all(out / e, ec);
    }
    if (!fs::is_empty(out, ec))
      return Fail(out.string() + " is not empty" +
                  (flags.Has("--replace") ? " (holds files not ours)" : " (--replace?)"));
  }
  fs::create_directories(out, ec);
  if (ec) return Fail(out.string() + ": " + ec.message());

  std::map<std::string, std::vector<std::string>> people;
  if (!ReadLfw(lfw, &people, &error)) return Fail(error);
  for (const auto& n : kSix)
    if (people[n].size() < size_t(kGalleryPerPerson + kMatedPerPerson))
      return Fail(Fmt("%s has %zu photos in %s; %d are needed", n.c_str(), people[n].size(), lfw.c_str(),
                      kGalleryPerPerson + kMatedPerPerson));
  const std::vector<BackgroundSource> groups = LoadGroupBackgrounds(groups_dir);
  if (groups.empty()) return Fail(groups_dir + ": none of the expected group photos is readable");

  // Everyone else, in a seeded order, cut into disjoint pools: no person appears in two
  // roles, so no photo is used twice.
  std::vector<std::string> others;
  for (const auto& [n, photos] : people)
    if (std::find(kSix.begin(), kSix.end(), n) == kSix.end()) others.push_back(n);
  Rng::For(seed, "others", 0).Shuffle(&others);
  size_t next_other = 0;
  auto take = [&](size_t n) {
    std::vector<std::string> v(others.begin() + long(next_other), others.begin() + long(next_other + n));
    next_other += n;
    return v;
  };
  const auto nonmated_people = take(kNonmated);
  const auto blurred_people = take(kBlurred);
  const auto bystander_people = take(kBystanderComposites);
  const auto small_people = take(kSmall * 4);

  Writer writer(out);
  std::vector<Row> rows;
  auto one_photo = [&](const std::string& name, const char* stream, uint64_t i) {
    return Rng::For(seed, stream, i).Pick(people[name]);
  };

  // 1. Gallery: 40 photos of each of the six; 16 composited, 10 of the 96 composites with
  //    a bystander.
  std::vector<int> by_slots(kSix.size() * kCompositesPerPerson);
  for (size_t i = 0; i < by_slots.size(); ++i) by_slots[i] = int(i);
  Rng::For(seed, "bystander-slots", 0).Shuffle(&by_slots);
  std::map<int, size_t> bystander_of;  // composite slot -> index into bystander_people
  for (int i = 0; i < kBystanderComposites; ++i) bystander_of[by_slots[size_t(i)]] = size_t(i);

  std::vector<std::vector<std::string>> mated_photos(kSix.size());
  for (size_t pi = 0; pi < kSix.size(); ++pi) {
    const std::string& name = kSix[pi];
    std::vector<std::string> photos = people[name];
    Rng::For(seed, "split", pi).Shuffle(&photos);
    std::vector<std::string> gallery(photos.begin(), photos.begin() + kGalleryPerPerson);
    mated_photos[pi].assign(photos.begin() + kGalleryPerPerson, photos.begin() + kGalleryPerPerson + kMatedPerPerson);
    std::vector<int> order(kGalleryPerPerson);
    for (int i = 0; i < kGalleryPerPerson; ++i) order[size_t(i)] = i;
    Rng::For(seed, "composite-slots", pi).Shuffle(&order);
    std::vector<int> composite_rank(kGalleryPerPerson, -1);  // -1: as it is
    for (int r = 0; r < kCompositesPerPerson; ++r) composite_rank[size_t(order[size_t(r)])] = r;
    std::sort(gallery.begin(), gallery.end());
    for (int gi = 0; gi < kGalleryPerPerson; ++gi) {
      const std::string& src = gallery[size_t(gi)];
      Row row{"gallery/" + name + "/" + Stem(src) + ".jpg", "gallery", name, "", {}};
      row.params.Add("src", src);
      if (composite_rank[size_t(gi)] < 0) {
        if (!writer.Copy(lfw / src, row.path, &error)) return Fail(error);
        row.faces = BoxText(LfwFaceBox(), name);
      } else {
        const int slot = int(pi) * kCompositesPerPerson + composite_rank[size_t(gi)];
        Rng rng = Rng::For(seed, "gallery-composite", uint64_t(slot));
        row.kind = "gallery_composite";
        cv::Mat photo = ReadPhoto(lfw, src, &error);
        if (photo.empty()) return Fail(error);
        cv::Mat by;
        std::string by_name;
        if (auto it = bystander_of.find(slot); it != bystander_of.end()) {
          by_name = bystander_people[it->second];
          const std::string by_src = one_photo(by_name, "bystander-photo", it->second);
          by = ReadPhoto(lfw, by_src, &error);
          if (by.empty()) return Fail(error);
          row.params.Add("by.src", by_src);
        }
        cv::Mat canvas = Composite(photo, by, by_name, rng, groups, name, &row.params, &row.faces);
        row.params.Add("jpeg_q", kCleanJpegQuality, 0);
        if (!writer.Bytes(row.path, EncodeJpeg(canvas, kCleanJpegQuality), &error)) return Fail(error);
      }
      rows.push_back(std::move(row));
    }
  }

  // 2. Mated probes: 15 other photos of each of the six, as video-frame face crops.
  for (size_t pi = 0; pi < kSix.size(); ++pi) {
    const std::string& name = kSix[pi];
    std::vector<std::string> photos = mated_photos[pi];
    std::sort(photos.begin(), photos.end());
    for (size_t j = 0; j < photos.size(); ++j) {
      Rng rng = Rng::For(seed, "mated", pi * 1000 + j);
      Row row{"probes/mated/" + name + "/" + Stem(photos[j]) + ".jpg", "mated_probe", name, "", {}};
      row.params.Add("src", photos[j]);
      cv::Mat photo = ReadPhoto(lfw, photos[j], &error);
      if (photo.empty()) return Fail(error);
      cv::Rect2f face;
      if (!writer.Bytes(row.path, VideoProbe(photo, rng, &row.params, &face), &error)) return Fail(error);
      row.faces = BoxText(face, name);
      rows.push_back(std::move(row));
    }
  }

  // 3. Non-mated probes: one photo each of 300 people not in the gallery, same recipe.
  for (size_t i = 0; i < nonmated_people.size(); ++i) {
    const std::string& name = nonmated_people[i];
    const std::string src = one_photo(name, "nonmated-photo", i);
    Rng rng = Rng::For(seed, "nonmated", i);
    Row row{"probes/nonmated/" + Stem(src) + ".jpg", "nonmated_probe", name, "", {}};
    row.params.Add("src", src);
    cv::Mat photo = ReadPhoto(lfw, src, &error);
    if (photo.empty()) return Fail(error);
    cv::Rect2f face;
    if (!writer.Bytes(row.path, VideoProbe(photo, rng, &row.params, &face), &error)) return Fail(error);
    row.faces = BoxText(face, name);
    rows.push_back(std::move(row));
  }

  // 4. Patterns alone: a third floral, the rest the other five in turn; every other one
  //    lightly blurred and compressed.
  for (int i = 0; i < kPatterns; ++i) {
    Rng rng = Rng::For(seed, "pattern", uint64_t(i));
    const Pattern kind = i % 3 == 0 ? Pattern::kFloral : kAllPatterns[size_t(1 + (i - 1 - i / 3) % 5)];
    const int w = rng.Int(640, 1600);
    const int h = std::clamp(static_cast<int>(std::lround(w * rng.Uniform(0.6, 0.9))), 480, 1200);
    Row row{Fmt("patterns/pattern_%03d_%s.jpg", i, std::string(PatternName(kind)).c_str()), "pattern", "-", "", {}};
    row.params.Add("pattern", PatternName(kind)).Add("size", Fmt("%dx%d", w, h));
    const double scale = rng.Uniform(0.6, 2.0);
    row.params.Add("scale", scale, 2);
    cv::Mat img = DrawPattern(kind, {w, h}, rng, scale, &row.params);
    int q = kCleanJpegQuality;
    if (i % 2 == 1) {
      const Degradation d = RandomLightDegradation(rng);
      img = Degrade(img, d, rng);
      row.params.Append(d.Record());
      q = d.jpeg_quality;
    } else {
      row.params.Add("jpeg_q", q, 0);
    }
    if (!writer.Bytes(row.path, EncodeJpeg(img, q), &error)) return Fail(error);
    rows.push_back(std::move(row));
  }

  // 5. Small faces: 640x480 canvases with 1-4 people whose faces are 8-48 px tall.
  size_t small_next = 0;
  for (int i = 0; i < kSmall; ++i) {
    Rng rng = Rng::For(seed, "small", uint64_t(i));
    const cv::Size size(640, 480);
    Row row{Fmt("small/small_%03d.jpg", i), "small", "-", "", {}};
    cv::Mat canvas =
        rng.Chance(0.6) ? Background(size, rng, groups, 0.25, &row.params) : PlainBackground(size, rng, &row.params);
    const int n = rng.Int(1, 4);
    const cv::Rect2f f0 = LfwFaceBox();
    // Each person claims their face box and the region their head and body cover; no one's
    // face may lie in another's region.
    struct Placed {
      cv::Rect2f face, region;
    };
    std::vector<Placed> placed;
    std::vector<std::string> boxes;
    for (int k = 0; k < n; ++k) {
      const double fh = rng.Uniform(8, 48), fw = fh * f0.width / f0.height;
      PersonLayout layout;
      layout.face_height = static_cast<float>(fh);
      layout.cutout = Cutout::kHeadOval;
      layout.clothing = RandomPattern(rng, 0.4);
      layout.body_length = static_cast<float>(rng.Uniform(2.5, 5));
      bool ok = false;
      Placed me;
      for (int attempt = 0; attempt < 200 && !ok; ++attempt) {
        const double x = rng.Uniform(fw, size.width - fw), y = rng.Uniform(fh, 0.8 * size.height);
        me.face = {float(x - fw / 2), float(y - fh / 2), float(fw), float(fh)};
        me.region = {float(x - 2 * fw), float(y - 0.9 * fh), float(4 * fw), float((1.4 + layout.body_length) * fh)};
        ok = true;
        for (const Placed& o : placed)
          if ((me.face & o.region).area() > 0 || (o.face & me.region).area() > 0) ok = false;
        if (ok) layout.face_centre = {float(x), float(y)};
      }
      if (!ok) continue;  // no room left: fewer people
      const std::string& name = small_people[small_next];
      const std::string src = one_photo(name, "small-photo", small_next++);
      cv::Mat photo = ReadPhoto(lfw, src, &error);
      if (photo.empty()) return Fail(error);
      const std::string pre = Fmt("p%d.", k + 1);
      row.params.Add(pre + "src", src);
      const cv::Rect2f box = PlacePerson(&canvas, photo, layout, rng, &row.params, pre);
      placed.push_back(me);
      boxes.push_back(BoxText(box, name));
    }
    for (size_t k = 0; k < boxes.size(); ++k) row.faces += (k ? ";" : "") + boxes[k];
    row.params.Add("jpeg_q", kCleanJpegQuality, 0);
    if (!writer.Bytes(row.path, EncodeJpeg(canvas, kCleanJpegQuality), &error)) return Fail(error);
    rows.push_back(std::move(row));
  }

  // 6. Blurred: one photo each of 200 more people, strongly blurred or downsampled.
  for (size_t i = 0; i < blurred_people.size(); ++i) {
    const std::string& name = blurred_people[i];
    const std::string src = one_photo(name, "blurred-photo", i);
    Rng rng = Rng::For(seed, "blurred", i);
    Row row{"blurred/" + Stem(src) + ".jpg", "blurred", name, BoxText(LfwFaceBox(), name), {}};
    row.params.Add("src", src);
    cv::Mat photo = ReadPhoto(lfw, src, &error);
    if (photo.empty()) return Fail(error);
    const Degradation d = RandomStrongBlur(rng, LfwFaceBox().height);
    row.params.Append(d.Record());
    if (d.resample < 1) row.params.Add("face_px_min", LfwFaceBox().height * d.resample, 1);
    row.params.Add("jpeg_q", kCleanJpegQuality, 0);
    if (!writer.Bytes(row.path, EncodeJpeg(Degrade(photo, d, rng), kCleanJpegQuality), &error)) return Fail(error);
    rows.push_back(std::move(row));
  }

  // The manifest and the README.
  std::map<std::string, int> counts;
  std::string manifest = "path\tkind\tidentity\tfaces\tparams\n";
  for (const Row& r : rows) {
    manifest += r.path + "\t" + r.kind + "\t" + r.identity + "\t" + (r.faces.empty() ? "-" : r.faces) + "\t" +
                r.params.Str() + "\n";
    ++counts[r.kind];
  }
  if (!writer.Bytes("manifest.tsv", {manifest.begin(), manifest.end()}, &error)) return Fail(error);

  const cv::Rect2f f0 = LfwFaceBox();
  std::string readme =
      Fmt("Lineup's hard set: material for measuring detector junk, blurred and small probes, and\n"
          "non-mated leads. Made from LFW (deep-funneled) by bench/make_hard_set.cc:\n\n"
          "  lineup_make_hard_set --lfw %s --groups %s --out DIR --seed %llu\n\n"
          "with DIR this folder. The same seed writes byte-identical files, this one included\n"
          "(same platform and library versions; --lfw and --groups are shown as absolute paths).\n"
          "The photos are LFW's: research and evaluation use only, never into the repository.\n\n",
          fs::weakly_canonical(fs::absolute(lfw)).c_str(), fs::weakly_canonical(fs::absolute(groups_dir)).c_str(),
          static_cast<unsigned long long>(seed));
  readme +=
      Fmt("gallery/<Name>/*.jpg        %4d  40 photos each of %s, %s, %s,\n"
          "                                  %s, %s and %s, to enrol by folder\n"
          "                                  (lineup enroll gallery --source web --subject-from-dir). Of each\n"
          "                                  40, 24 are the LFW file unchanged (kind gallery) and 16 are\n"
          "                                  composites (kind gallery_composite, %d files): the LFW photo,\n"
          "                                  or its head in a soft oval, on an 800-1280 px canvas, face\n"
          "                                  80-250 px tall, over a torso in a printed pattern (half of\n"
          "                                  them floral) and a background that is another pattern or a\n"
          "                                  face-free piece of a groups/ photo. %d composites also hold\n"
          "                                  a smaller bystander: a real LFW person not among the six.\n",
          counts["gallery"] + counts["gallery_composite"], kSix[0].c_str(), kSix[1].c_str(), kSix[2].c_str(),
          kSix[3].c_str(), kSix[4].c_str(), kSix[5].c_str(), counts["gallery_composite"], kBystanderComposites);
  readme +=
      Fmt("probes/mated/<Name>/*.jpg   %4d  15 more photos of each of the six (none in the gallery) as\n"
          "                                  video-frame face crops: a square of 1.2-2x the face around\n"
          "                                  it, turned up to 12 degrees, the face 35-90 px tall; then\n"
          "                                  Gaussian blur (sigma 0.5-2.5, half) or motion blur (3-9 px,\n"
          "                                  any angle, 40%%) or none, noise (sigma 2-8, 80%%), brightness\n"
          "                                  +-30, contrast 0.7-1.3, gamma 0.7-1.4, JPEG quality 20-60.\n"
          "probes/nonmated/*.jpg       %4d  one photo each of 300 other people, the same recipe: none is\n"
          "                                  in the gallery, so every lead for them is false.\n",
          counts["mated_probe"], counts["nonmated_probe"]);
  readme +=
      Fmt("patterns/*.jpg              %4d  printed patterns alone, 640-1600 px wide: floral (every\n"
          "                                  third), polka dots, paisley, leopard, checks, printed text;\n"
          "                                  odd-numbered ones lightly blurred and JPEG 30-70. No person:\n"
          "                                  every detection here is junk.\n"
          "small/*.jpg                 %4d  640x480 canvases (patterned, photo or plain backgrounds) with\n"
          "                                  1-4 real LFW people whose faces are 8-48 px tall, for what a\n"
          "                                  minimum-face-size rule loses.\n"
          "blurred/*.jpg               %4d  one LFW photo each of 200 more people, strongly degraded:\n"
          "                                  Gaussian blur sigma 2-6, or shrunk until the face is 32-60\n"
          "                                  px tall and enlarged back. Real faces a quality rule may drop.\n\n",
          counts["pattern"], counts["small"], counts["blurred"]);
  readme +=
      Fmt("manifest.tsv: path, kind, identity, faces, params (tab-separated, with a header).\n"
          "  kind      gallery, gallery_composite, mated_probe, nonmated_probe, pattern, small, blurred\n"
          "  identity  the LFW name of the person the file is about, or '-'\n"
          "  faces     every real face placed in the picture, ';'-separated, as x,y,w,h=Name in the\n"
          "            file's pixels ('-' if none). The boxes are not detections: each is the mean\n"
          "            face box of Lineup's detector on LFW photos (%.1f,%.1f,%.1f,%.1f in 250x250)\n"
          "            carried through the scaling, cropping and turning applied, so expect the\n"
          "            real face to be off by up to about 10%% of its size; score detections by\n"
          "            overlap (IoU >= 0.3 or so) rather than exact match.\n"
          "  params    every random choice, as space-separated key=value (src= the LFW source file).\n\n"
          "Caveat: some LFW photos show other people's faces (partly) behind the subject; those\n"
          "are real faces that the faces column does not list.\n\n"
          "Counts: %d files in all.\n",
          double(f0.x), double(f0.y), double(f0.width), double(f0.height), int(rows.size()));
  if (!writer.Bytes("README.txt", {readme.begin(), readme.end()}, &error)) return Fail(error);

  for (const auto& [kind, n] : counts) std::printf("%-18s %5d\n", kind.c_str(), n);
  std::printf("%-18s %5d  (written to %s)\n", "total", int(rows.size()), out.c_str());
  return 0;
}
