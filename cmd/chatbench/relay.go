package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Relay is the bare baseline: the same WebSocket library and the same
// connection shape as chatd (one reader, one writer with a bounded queue
// per socket), forwarding visitor frames to their agent's socket and agent
// frames to the chat's visitor socket, with no storage, no Redis, no acks
// and no JSON decoding beyond finding a chat_id. What it reaches is the
// machine's limit for this traffic.
//
//	GET /agent?id=A            an agent socket
//	GET /visitor?chat=C&agent=A a visitor socket of chat C, served by agent A
type Relay struct {
	URL string // http://127.0.0.1:port

	srv *http.Server
	ln  net.Listener

	mu       sync.Mutex
	agents   map[string]*relayConn
	visitors map[string]*relayConn
	all      map[*relayConn]struct{}

	forwarded atomic.Int64
	dropped   atomic.Int64 // no such peer, or its queue was full
}

type relayConn struct {
	ws   *websocket.Conn
	send chan []byte
	once sync.Once
	done chan struct{}
}

// StartRelay listens on a loopback port and serves until Close.
func StartRelay() (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Relay{URL: "http://" + ln.Addr().String(), ln: ln,
		agents: map[string]*relayConn{}, visitors: map[string]*relayConn{}, all: map[*relayConn]struct{}{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /agent", r.serveAgent)
	mux.HandleFunc("GET /visitor", r.serveVisitor)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Close stops the listener and drops every socket.
func (r *Relay) Close() {
	_ = r.srv.Close()
	r.mu.Lock()
	conns := make([]*relayConn, 0, len(r.all))
	for c := range r.all {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

func (r *Relay) serveAgent(w http.ResponseWriter, req *http.Request) {
	id := req.URL.Query().Get("id")
	if id == "" {
		http.Error(w, "id is required", http.StatusBadRequest)
		return
	}
	r.serve(w, req, func(c *relayConn) func() {
		r.agents[id] = c
		return func() {
			if r.agents[id] == c {
				delete(r.agents, id)
			}
		}
	}, func(b []byte) *relayConn {
		chat := chatIDOf(b)
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.visitors[chat]
	})
}

func (r *Relay) serveVisitor(w http.ResponseWriter, req *http.Request) {
	chat, agent := req.URL.Query().Get("chat"), req.URL.Query().Get("agent")
	if chat == "" || agent == "" {
		http.Error(w, "chat and agent are required", http.StatusBadRequest)
		return
	}
	r.serve(w, req, func(c *relayConn) func() {
		r.visitors[chat] = c
		return func() {
			if r.visitors[chat] == c {
				delete(r.visitors, chat)
			}
		}
	}, func([]byte) *relayConn {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.agents[agent]
	})
}

// serve runs one socket: register (under the lock) files it, route picks
// the peer of each frame.
func (r *Relay) serve(w http.ResponseWriter, req *http.Request, register func(*relayConn) (unregister func()), route func([]byte) *relayConn) {
	ws, err := websocket.Accept(w, req, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 20)
	c := &relayConn{ws: ws, send: make(chan []byte, 512), done: make(chan struct{})}
	r.mu.Lock()
	unregister := register(c)
	r.all[c] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		unregister()
		delete(r.all, c)
		r.mu.Unlock()
		c.close()
	}()
	go c.writeLoop()
	ctx := context.Background()
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return
		}
		peer := route(b)
		if peer == nil || !peer.enqueue(b) {
			r.dropped.Add(1)
			continue
		}
		r.forwarded.Add(1)
	}
}

// enqueue never blocks: a peer that cannot keep up is cut off, as chatd
// does.
func (c *relayConn) enqueue(b []byte) bool {
	select {
	case c.send <- b:
		return true
	case <-c.done:
		return false
	default:
		go c.close()
		return false
	}
}

func (c *relayConn) writeLoop() {
	for {
		select {
		case <-c.done:
			return
		case b := <-c.send:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := c.ws.Write(ctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				c.close()
				return
			}
		}
	}
}

func (c *relayConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.CloseNow()
	})
}

// chatIDOf finds the value of the first "chat_id" member of a JSON frame
// by scanning, which is all the routing the relay does.
func chatIDOf(b []byte) string {
	const key = `"chat_id":"`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return ""
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
