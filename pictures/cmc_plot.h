// The CMC curve as a PNG plot (`ptl evaluate --cmc-plot`), drawn with Canvas.
#pragma once
#include <string>
#include <vector>

namespace ptl {

// cmc[k] = CMC(k + 1) as a fraction. The y axis runs from the 10% step below Rank-1 to 100%.
// `source` names what was evaluated (the features file and the distance); it heads the picture.
void write_cmc_plot(const std::string& path, const std::vector<double>& cmc,
                    const std::string& title, const std::string& source);
// The plot's title: "mAP 30.46%" (mAP as a fraction, rounded to 2 decimals as the printed figures
// are), prefixed "re-ranked  " for re-ranked results.
std::string cmc_plot_title(double mAP, bool reranked);

}  // namespace ptl
