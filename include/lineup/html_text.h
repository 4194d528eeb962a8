// Text put into HTML that people read (search reports, evidence reports): the five
// characters that could end a text node or an attribute value become entity references,
// so a name, note or file path from outside is shown as written and never runs as markup.
#pragma once

#include <string>

namespace lineup {

std::string HtmlEscape(const std::string& text);

}  // namespace lineup
