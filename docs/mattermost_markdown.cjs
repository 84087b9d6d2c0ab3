// Mattermost's own Markdown parser (@mattermost/commonmark, the fork its web app uses), as a filter:
// reads a JSON array of Markdown strings on stdin, writes a JSON array of their HTML on stdout.
// Used by docs/screenshots.py (the Mattermost pictures) and tests/test_mattermost_markdown.py (how
// Mattermost parses what the notifier sends). Run it with the project's pinned Node:
//   node_modules/.bin/node docs/mattermost_markdown.cjs < strings.json
"use strict";
const { Parser, HtmlRenderer } = require("@mattermost/commonmark");

const parser = new Parser();
// Mattermost shows each newline in a post as a line break (a soft break is "<br />" there).
const renderer = new HtmlRenderer({ safe: true, softbreak: "<br />" });
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const strings = JSON.parse(input);
  process.stdout.write(JSON.stringify(strings.map((text) => renderer.render(parser.parse(text)))));
});
