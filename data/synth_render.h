// Procedural pedestrians for the synthetic ReID data: an identity's appearance (clothing colours
// and patterns, proportions, hair, accessories) and a camera's imaging conditions (viewpoint,
// framing, illumination, background, blur, occlusion), rendered into one bounding-box image.
#pragma once
#include <cstdint>

#include "data/image.h"
#include "engine/rng.h"

namespace ptl::data {

struct Rgb {
  float r = 0, g = 0, b = 0;
};

// What stays the same for a person in every camera.
struct Person {
  Rgb skin, hair, top, top2, bottom, shoes, bag, hat;
  int pattern = 0;      // upper body: 0 solid, 1 horizontal stripes, 2 vertical stripes, 3 checks,
                        // 4 two-tone (upper/lower half), 5 chest logo (front only)
  float period = 0.2f;  // stripe/check period, fraction of torso height
  int lower = 0;        // 0 trousers, 1 shorts, 2 skirt
  int bag_kind = 0;     // 0 none, 1 backpack, 2 shoulder bag
  bool long_sleeves = true, long_hair = false, has_hat = false;
  float height = 1.f, width = 1.f, torso = 0.37f;  // proportions
  static Person random(Generator& g);
};

// What a camera does to every image it takes.
struct Camera {
  float scale_lo = 0.85f, scale_hi = 0.97f;  // person height / image height
  float shift = 0.06f;                       // max horizontal offset, fraction of width
  float aspect = 1.f;                        // horizontal stretch of the detector's box
  Rgb cast{1, 1, 1};                         // per-channel gain (illumination and colour cast)
  float gamma = 1.f;
  Rgb sky, ground;  // background above and below the horizon
  float horizon = 0.7f;
  int texture = 0;                     // 0 plain, 1 columns, 2 blocks, 3 speckle
  float blur = 0.f;                    // Gaussian sigma in pixels at 128 px height
  float occlusion = 0.f;               // probability of an occluder
  float view[3] = {0.4f, 0.4f, 0.2f};  // P(front), P(back), P(side)
  float noise = 2.f;                   // pixel noise sigma (0..255)
  // The cameras of a domain: `target` draws darker, more tinted, blurrier, more occluded views
  // with other backgrounds than the source domain. Depends only on (target, index).
  static Camera make(bool target, int index);
};

enum class Shot { Person, Junk, Clutter };

// Renders one h x w image. Person: the whole person; Junk: a bad detection showing a fragment of
// the person; Clutter: background only (a false detection). All per-image variation (framing,
// pose, view, occluder, noise) comes from `rng`.
Image render_shot(const Person& p, const Camera& cam, Shot shot, int h, int w, Generator& rng);

}  // namespace ptl::data
