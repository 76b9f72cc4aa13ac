// The reference Automerge sync server for `cargo xtask bench`: automerge-repo
// with its WebSocket server adapter and Node-filesystem storage, a few lines
// as its README shows, plus a catalogue document like Stufe's knowledge base
// and an HTTP hook the load client calls to "publish" one entry.
//
//   node server.mjs PORT DATA_DIR ARTICLES
// prints `ready <documentId>` once it listens.
import http from "node:http";
import { Repo } from "@automerge/automerge-repo";
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import { WebSocketServer } from "ws";

const [port, dir, articles] = process.argv.slice(2);
const wss = new WebSocketServer({ noServer: true });
const repo = new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  // Like a sync server: it answers what peers ask for, announces nothing.
  sharePolicy: async () => false,
});
const catalogue = repo.create();
catalogue.change((doc) => {
  doc.articles = [];
  for (let i = 0; i < Number(articles); i++) {
    doc.articles.push({ id: `article-${i}`, title: `Article ${i}`, category: "general", tags: "", version: 1, updated_at: Date.now() });
  }
});
let published = 0;
const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/publish") {
    published += 1;
    catalogue.change((doc) => {
      doc.articles.push({ id: `published-${published}`, title: `Published ${published}`, category: "general", tags: "", version: 1, updated_at: Date.now() });
    });
    repo.flush([catalogue.documentId]).then(() => res.end("ok"), (err) => { res.statusCode = 500; res.end(String(err)); });
  } else {
    res.statusCode = 404;
    res.end();
  }
});
server.on("upgrade", (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
});
server.listen(Number(port), "127.0.0.1", () => {
  repo.flush([catalogue.documentId]).then(() => console.log(`ready ${catalogue.documentId}`));
});
