#pragma once
// A synthetic multi-reference editing data set that the project generates itself, for the
// quickstart and for tests: image 1 is a scene (a coloured background with a small grey
// distractor), images 2.. each show one coloured shape on white, the instruction says where
// each shape goes ("place the red circle from image 2 in the top-left corner of image 1"),
// and the target is the scene with the shapes drawn exactly there. Written in the dataset
// folder layout the trainer reads (control/<stem>.png, control/<stem>_control_<N>.png,
// target/<stem>.png, target/<stem>.txt). The same options give the same bytes.
#include <cstdint>
#include <filesystem>


namespace flux_kontext {

struct ShapesDatasetOptions {
  int samples = 32;
  int image_size = 64;        // every image is image_size x image_size pixels
  int shape_references = 1;   // shapes per sample (1 or 2): 2 or 3 control images
  std::uint64_t seed = 0;
};

// Writes the samples into `folder` (its control/ and target/ sub-folders). The folder must
// not exist yet; the set is written under a temporary name and renamed into place, so an
// interrupted run never leaves a half-written data set behind.
void write_shapes_dataset(const std::filesystem::path& folder,
                          const ShapesDatasetOptions& options);

}  // namespace flux_kontext
