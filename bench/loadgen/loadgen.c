/*
 * loadgen: a cheap WebSocket load generator for the codesight stream
 * protocol, on libwebsockets' client API.  Many connections on one thread;
 * each keeps a window of unacknowledged frames in flight (pipelined), or is
 * paced to a fixed total offered load.  Prints one JSON object on stdout.
 *
 *   loadgen --port P --mode v1|v2 --conns N [--batch 50] [--window 8]
 *           [--duration S] [--rate EV_PER_S] [--watch-pid PID]
 *   loadgen --port P --mode idle --conns 10000 --active 1000 --rate 5000
 *           --hold S --watch-pid PID
 *
 * v1: session_start, then one interaction_event per frame without seq; the
 *     server answers event_received {eventCount} after COMMIT.
 * v2: session_start, then `events` frames of --batch events with seq; the
 *     server answers ack {seq} after COMMIT.
 * idle: opens --conns connections, each stores one event (v2) and waits for
 *     its ack, then stays idle; --active of them then send paced v2 traffic
 *     for --hold seconds; finally every connection sends one more event and
 *     must get its ack.  Samples VmRSS of --watch-pid at each phase.
 *
 * Throughput counts events acknowledged (stored) between the first send and
 * the last ack.  Latency is per frame: send -> the ack that covers it.
 */
#include <libwebsockets.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

enum { M_V1, M_V2, M_IDLE };
enum { C_NEW, C_CONNECTING, C_OPEN, C_STARTED, C_CLOSED };
enum { P_CONNECT, P_IDLE_HOLD, P_RUN, P_DRAIN, P_FINAL, P_DONE };

typedef struct Conn {
	struct lws *wsi;
	int			idx;
	int			state;
	char		session_id[48];
	int			need_start;		/* session_start to send */
	int			need_pong;
	int64_t		frames_sent;
	int64_t		frames_acked;
	int64_t		events_sent;	/* == highest seq sent */
	int64_t		events_acked;
	int64_t		credits;		/* paced: frames allowed to send */
	int64_t		final_target;	/* idle mode: events that must be acked at the end */
	double	   *sendt;			/* ring of send times, window entries */
	int			active;
	char	   *rx;
	size_t		rxlen, rxcap;
} Conn;

static struct {
	int			port;
	int			mode;
	int			nconns;
	int			batch;
	int			window;
	double		duration;
	double		rate;
	int			active;
	double		hold;
	int			watch_pid;
	int			max_connecting;
	const char *tag;
} opt = {0, M_V2, 1, 50, 8, 10, 0, 0, 10, 0, 256, "run"};

static struct lws_context *ctx;
static char *buf;					/* one frame, after LWS_PRE */
static size_t bufcap;
static uv_loop_t loop;
static Conn *conns;
static int	phase = P_CONNECT;
static int	nconnecting, nopen, nstarted, nclosed, nstart_idx;
static int64_t errors;
static char first_error[256];
static double t_begin, t_run, t_stop_send, t_last_ack, t_end;
static int64_t paced_issued;
static int	rr;
static double *lat;
static size_t nlat, caplat;
static struct rusage ru_run;
static double rss_base, rss_idle, rss_active, rss_final, rss_peak;
static double anon_last, anon_base, anon_idle, anon_active, anon_final;
static int	served_first, served_final;
static lws_sorted_usec_list_t tick_sul;
static int	interrupted;

static const char *const TEMPLATES[] = {
	"\"type\":\"click\",\"timestamp\":%.0f,\"data\":{\"selector\":\"[data-testid=\\\"add-to-cart\\\"]\","
	"\"selectors\":{\"testId\":{\"attribute\":\"data-testid\",\"value\":\"add-to-cart\"},"
	"\"role\":{\"role\":\"button\",\"name\":\"Add to Cart\"},\"text\":\"Add to Cart\","
	"\"css\":\"#product > div.actions > button:nth-of-type(2)\"},"
	"\"element\":{\"tag\":\"button\",\"role\":\"button\",\"name\":\"Add to Cart\",\"text\":\"Add to Cart\","
	"\"attributes\":{\"type\":\"button\",\"id\":\"add\"},\"boundingBox\":{\"x\":610,\"y\":412,\"width\":180,\"height\":44}},"
	"\"coordinates\":{\"x\":700,\"y\":430},\"pageCoordinates\":{\"x\":700,\"y\":1230},"
	"\"viewport\":{\"width\":1280,\"height\":800},\"scroll\":{\"x\":0,\"y\":800},\"button\":0,"
	"\"url\":\"https://shop.example.com/product/4711?ref=home\",\"framePath\":[],\"tabId\":7}",
	"\"type\":\"input\",\"timestamp\":%.0f,\"data\":{\"selector\":\"#search\","
	"\"selectors\":{\"placeholder\":\"Search products\",\"css\":\"#search\"},"
	"\"element\":{\"tag\":\"input\",\"role\":\"searchbox\",\"name\":\"Search products\",\"text\":\"\","
	"\"attributes\":{\"type\":\"search\",\"placeholder\":\"Search products\",\"id\":\"search\"},"
	"\"boundingBox\":{\"x\":300,\"y\":20,\"width\":400,\"height\":36}},"
	"\"value\":\"running shoes size 42\",\"masked\":null,\"inputType\":\"search\","
	"\"url\":\"https://shop.example.com/\",\"framePath\":[],\"tabId\":7}",
	"\"type\":\"scroll\",\"timestamp\":%.0f,\"data\":{\"scroll\":{\"x\":0,\"y\":1600},\"direction\":\"down\","
	"\"viewport\":{\"width\":1280,\"height\":800},\"documentHeight\":5400,"
	"\"url\":\"https://shop.example.com/category/shoes?page=2\",\"framePath\":[],\"tabId\":7}",
	"\"type\":\"navigation\",\"timestamp\":%.0f,\"data\":{\"url\":\"https://shop.example.com/cart\","
	"\"transitionType\":\"link\",\"transitionQualifiers\":[],\"tabId\":7,\"frameId\":0}",
};
#define NTEMPLATES 4

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
rss_mb(int pid)
{
	char		path[64], line[256];
	FILE	   *f;
	double		kb = -1;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atof(line + 6);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			anon_last = atof(line + 8) / 1024;
	fclose(f);
	if (kb > rss_peak * 1024)
		rss_peak = kb / 1024;
	return kb / 1024;
}

static void
add_lat(double ms)
{
	if (nlat == caplat)
	{
		caplat = caplat ? caplat * 2 : 65536;
		lat = realloc(lat, caplat * sizeof(double));
		if (!lat)
			abort();
	}
	lat[nlat++] = ms;
}

static int
cmpd(const void *a, const void *b)
{
	double		x = *(const double *) a, y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
pct(double p)
{
	size_t		i;

	if (nlat == 0)
		return -1;
	i = (size_t) ceil(p / 100.0 * nlat);
	if (i > 0)
		i--;
	if (i >= nlat)
		i = nlat - 1;
	return lat[i];
}

static int
frame_events(void)
{
	return opt.mode == M_V1 ? 1 : opt.batch;
}

/* Whether c may send a data frame now. */
static int
can_send(Conn *c)
{
	if (c->state != C_STARTED)
		return 0;
	if (c->frames_sent - c->frames_acked >= opt.window)
		return 0;
	if (opt.mode == M_IDLE)
	{
		if (phase == P_CONNECT)
			return c->frames_sent == 0;
		if (phase == P_RUN)
			return c->active && c->credits > 0;
		if (phase == P_FINAL)
			return c->events_sent < c->final_target;
		return 0;
	}
	if (phase != P_RUN)
		return 0;
	if (opt.rate > 0)
		return c->credits > 0;
	return 1;
}

/* Writes the next data frame into buf (after LWS_PRE); returns its length. */
static size_t
build_frame(Conn *c, char *buf, size_t cap, int nev)
{
	size_t		n = 0;
	double		ts = wall_ms();

	if (opt.mode == M_V1)
	{
		int			t = (int) (c->events_sent % NTEMPLATES);
		const char *tpl = TEMPLATES[t];
		const char *data = strstr(tpl, "\"data\":") + 7;
		char		type[16];
		const char *q = tpl + 8;
		size_t		tl = strchr(q, '"') - q;

		memcpy(type, q, tl);
		type[tl] = 0;
		n += snprintf(buf + n, cap - n,
					  "{\"type\":\"interaction_event\",\"sessionId\":\"%s\",\"timestamp\":%.0f,"
					  "\"event\":{\"type\":\"%s\",\"sessionId\":\"%s\",\"data\":",
					  c->session_id, ts, type, c->session_id);
		n += snprintf(buf + n, cap - n, "%s}}", data);
		return n;
	}
	n += snprintf(buf + n, cap - n, "{\"type\":\"events\",\"sessionId\":\"%s\",\"events\":[", c->session_id);
	for (int i = 0; i < nev; i++)
	{
		int64_t		seq = c->events_sent + 1 + i;

		n += snprintf(buf + n, cap - n, "%s{\"seq\":%lld,", i ? "," : "", (long long) seq);
		n += snprintf(buf + n, cap - n, TEMPLATES[seq % NTEMPLATES], ts);
		n += snprintf(buf + n, cap - n, "}");
	}
	n += snprintf(buf + n, cap - n, "]}");
	return n;
}

static void
on_acked_events(Conn *c, int64_t acked)
{
	double		t = now_s();
	int			fe = frame_events();

	if (acked <= c->events_acked)
		return;
	c->events_acked = acked;
	t_last_ack = t;
	while (c->frames_acked < c->frames_sent)
	{
		/* frame k (from 0) ends with event (k + 1) * events per frame */
		if (opt.mode == M_IDLE)
		{
			/* idle-mode frames carry 1 event each */
			if (c->frames_acked + 1 > acked)
				break;
		}
		else if ((c->frames_acked + 1) * fe > acked)
			break;
		add_lat((t - c->sendt[c->frames_acked % opt.window]) * 1000.0);
		c->frames_acked++;
	}
	if (can_send(c))
		lws_callback_on_writable(c->wsi);
}

static int64_t
num_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void
on_message(Conn *c, const char *m)
{
	if (strstr(m, "\"type\":\"ack\""))
		on_acked_events(c, num_after(m, "\"seq\":"));
	else if (strstr(m, "\"type\":\"event_received\""))
		on_acked_events(c, num_after(m, "\"eventCount\":"));
	else if (strstr(m, "\"type\":\"session_started\""))
	{
		if (c->state == C_OPEN)
		{
			c->state = C_STARTED;
			nstarted++;
			if (can_send(c))
				lws_callback_on_writable(c->wsi);
		}
	}
	else if (strstr(m, "\"type\":\"ping\""))
	{
		c->need_pong = 1;
		lws_callback_on_writable(c->wsi);
	}
	else if (strstr(m, "\"type\":\"error\""))
	{
		if (errors++ == 0)
			snprintf(first_error, sizeof(first_error), "%s", m);
	}
}

static void
conn_closed(Conn *c)
{
	if (c->state == C_CLOSED)
		return;
	if (c->state == C_CONNECTING)
		nconnecting--;
	else if (c->state >= C_OPEN)
		nopen--;
	c->state = C_CLOSED;
	c->wsi = NULL;
	nclosed++;
}

/* Builds and writes the connection's next data frame; -1 if the write failed. */
static int
send_data_frame(Conn *c, struct lws *wsi)
{
	int			nev = opt.mode == M_IDLE ? 1 : frame_events();
	int			mode = opt.mode;
	size_t		n;

	/* idle mode's connections send one-event v2 frames */
	if (opt.mode == M_IDLE)
		opt.mode = M_V2, opt.batch = 1;
	n = build_frame(c, buf + LWS_PRE, bufcap - LWS_PRE, nev);
	opt.mode = mode;
	c->sendt[c->frames_sent % opt.window] = now_s();
	c->frames_sent++;
	c->events_sent += nev;
	if (c->credits > 0)
		c->credits--;
	return lws_write(wsi, (unsigned char *) buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int) n ? -1 : 0;
}

static int
callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	Conn	   *c = (Conn *) lws_get_opaque_user_data(wsi);

	switch (reason)
	{
		case LWS_CALLBACK_CLIENT_ESTABLISHED:
			nconnecting--;
			nopen++;
			c->state = C_OPEN;
			c->need_start = 1;
			lws_callback_on_writable(wsi);
			break;
		case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
			if (c && errors++ == 0)
				snprintf(first_error, sizeof(first_error), "connect: %s",
						 in ? (char *) in : "(null)");
			if (c)
				conn_closed(c);
			break;
		case LWS_CALLBACK_CLIENT_CLOSED:
		case LWS_CALLBACK_WSI_DESTROY:
			if (c)
				conn_closed(c);
			break;
		case LWS_CALLBACK_CLIENT_RECEIVE:
			if (c->rxlen + len + 1 > c->rxcap)
			{
				c->rxcap = c->rxlen + len + 1 + 256;
				c->rx = realloc(c->rx, c->rxcap);
			}
			memcpy(c->rx + c->rxlen, in, len);
			c->rxlen += len;
			if (lws_is_final_fragment(wsi))
			{
				c->rx[c->rxlen] = 0;
				on_message(c, c->rx);
				c->rxlen = 0;
			}
			break;
		case LWS_CALLBACK_CLIENT_WRITEABLE:
			{
				size_t		n;

				if (!c || c->state < C_OPEN || c->state == C_CLOSED)
					break;
				if (c->need_start)
				{
					n = snprintf(buf + LWS_PRE, bufcap - LWS_PRE,
								 "{\"type\":\"session_start\",\"sessionId\":\"%s\",\"timestamp\":%.0f,"
								 "\"userAgent\":\"Mozilla/5.0 (X11; Linux x86_64) loadgen\","
								 "\"extension\":{\"name\":\"CodeSight\",\"version\":\"1.0.0\"}}",
								 c->session_id, wall_ms());
					c->need_start = 0;
					if (lws_write(wsi, (unsigned char *) buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int) n)
						return -1;
				}
				else if (c->need_pong)
				{
					n = snprintf(buf + LWS_PRE, bufcap - LWS_PRE, "{\"type\":\"pong\"}");
					c->need_pong = 0;
					if (lws_write(wsi, (unsigned char *) buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int) n)
						return -1;
				}
				else
				{
					/*
					 * Data frames while the socket takes them: asking for a
					 * writable callback per frame costs two epoll_ctl calls
					 * and a loop turn, which made the generator, not the
					 * server, the bound on v1's one-event frames.
					 */
					for (int k = 0; k < 16 && !c->need_pong && can_send(c); k++)
					{
						if (k > 0 && lws_send_pipe_choked(wsi))
							break;
						if (send_data_frame(c, wsi) < 0)
							return -1;
					}
				}
				if (c->need_pong || can_send(c))
					lws_callback_on_writable(wsi);
				break;
			}
		default:
			break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"codesight-loadgen", callback, 0, 65536, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0}
};

static void
start_connect(Conn *c)
{
	struct lws_client_connect_info i;

	memset(&i, 0, sizeof(i));
	i.context = ctx;
	i.address = "127.0.0.1";
	i.port = opt.port;
	i.path = "/extension-ws";
	i.host = "127.0.0.1";
	i.origin = NULL;		/* lws would send "http://" + origin; no Origin = a non-browser client */
	i.protocol = NULL;
	i.local_protocol_name = "codesight-loadgen";
	i.opaque_user_data = c;
	i.pwsi = &c->wsi;
	c->state = C_CONNECTING;
	nconnecting++;
	if (!lws_client_connect_via_info(&i))
	{
		/* CONNECTION_ERROR may already have closed it */
		if (c->state == C_CONNECTING)
			conn_closed(c);
	}
}

static void
give_credits(int64_t frames)
{
	/* round robin over connections eligible to send */
	int			tries = 0;

	while (frames > 0 && tries < opt.nconns * 2)
	{
		Conn	   *c = &conns[rr];

		rr = (rr + 1) % opt.nconns;
		tries++;
		if (c->state != C_STARTED || (opt.mode == M_IDLE && !c->active))
			continue;
		c->credits++;
		frames--;
		tries = 0;
		if (can_send(c))
			lws_callback_on_writable(c->wsi);
	}
}

static int
all_acked(void)
{
	for (int i = 0; i < opt.nconns; i++)
	{
		Conn	   *c = &conns[i];

		if (c->state == C_STARTED && c->frames_acked < c->frames_sent)
			return 0;
	}
	return 1;
}

static void
tick(lws_sorted_usec_list_t *sul)
{
	double		t = now_s();

	/* open connections, at most max_connecting handshakes at once */
	while (nstart_idx < opt.nconns && nconnecting < opt.max_connecting)
		start_connect(&conns[nstart_idx++]);

	switch (phase)
	{
		case P_CONNECT:
			if (nstart_idx == opt.nconns && nconnecting == 0 &&
				nstarted + nclosed >= opt.nconns)
			{
				if (opt.mode == M_IDLE)
				{
					int			n = 0;

					for (int i = 0; i < opt.nconns; i++)
						if (conns[i].state == C_STARTED && conns[i].events_acked >= 1)
							n++;
					if (n + nclosed < opt.nconns && t - t_begin < 300)
						break;
					served_first = n;
					sleep(1);
					rss_idle = rss_mb(opt.watch_pid);
					anon_idle = anon_last;
					for (int i = 0, k = 0; i < opt.nconns && k < opt.active; i++)
						if (conns[i].state == C_STARTED)
							conns[i].active = 1, k++;
				}
				phase = P_RUN;
				t_run = now_s();
				getrusage(RUSAGE_SELF, &ru_run);
				for (int i = 0; i < opt.nconns; i++)
					if (can_send(&conns[i]))
						lws_callback_on_writable(conns[i].wsi);
			}
			else if (t - t_begin > 300)
				phase = P_DONE;
			break;
		case P_RUN:
			if (opt.rate > 0)
			{
				int			fe = opt.mode == M_IDLE ? 1 : frame_events();
				int64_t		due = (int64_t) ((t - t_run) * opt.rate / fe);

				if (due > paced_issued)
				{
					give_credits(due - paced_issued);
					paced_issued = due;
				}
			}
			if (opt.mode == M_IDLE && rss_active <= 0 && t - t_run > opt.hold / 2)
				rss_active = rss_mb(opt.watch_pid), anon_active = anon_last;
			if (t - t_run >= (opt.mode == M_IDLE ? opt.hold : opt.duration))
			{
				phase = P_DRAIN;
				t_stop_send = t;
			}
			break;
		case P_DRAIN:
			if (all_acked() || t - t_stop_send > 20)
			{
				if (opt.mode == M_IDLE)
				{
					phase = P_FINAL;
					t_stop_send = t;
					for (int i = 0; i < opt.nconns; i++)
					{
						Conn	   *c = &conns[i];

						if (c->state != C_STARTED)
							continue;
						c->final_target = c->events_sent + 1;
						lws_callback_on_writable(c->wsi);
					}
				}
				else
				{
					t_end = t;
					phase = P_DONE;
				}
			}
			break;
		case P_FINAL:
			{
				int			n = 0;

				for (int i = 0; i < opt.nconns; i++)
					if (conns[i].state == C_STARTED && conns[i].final_target > 0 &&
						conns[i].events_acked >= conns[i].final_target)
						n++;
				served_final = n;
				if (all_acked() && n + nclosed >= opt.nconns)
				{
					t_end = t;
					phase = P_DONE;
				}
				else if (t - t_stop_send > 60)
				{
					t_end = t;
					phase = P_DONE;
				}
				break;
			}
		default:
			break;
	}
	if (phase == P_DONE)
		rss_final = rss_mb(opt.watch_pid), anon_final = anon_last;
	lws_sul_schedule(ctx, 0, &tick_sul, tick, 1000);
}

static void
sigint(int s)
{
	(void) s;
	interrupted = 1;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"port", 1, 0, 'p'}, {"mode", 1, 0, 'm'}, {"conns", 1, 0, 'c'},
		{"batch", 1, 0, 'b'}, {"window", 1, 0, 'w'}, {"duration", 1, 0, 'd'},
		{"rate", 1, 0, 'r'}, {"active", 1, 0, 'a'}, {"hold", 1, 0, 'H'},
		{"watch-pid", 1, 0, 'P'}, {"tag", 1, 0, 't'}, {"max-connecting", 1, 0, 'M'},
		{0, 0, 0, 0}
	};
	struct lws_context_creation_info info;
	static void *foreign_loops[1];
	struct rusage ru_end;
	int			ch;
	double		cpu, wall, acked_total = 0, sent_total = 0;
	int			nstarted_final = 0;
	char		session_prefix[32];

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
	{
		switch (ch)
		{
			case 'p': opt.port = atoi(optarg); break;
			case 'm':
				opt.mode = strcmp(optarg, "v1") == 0 ? M_V1 : strcmp(optarg, "idle") == 0 ? M_IDLE : M_V2;
				break;
			case 'c': opt.nconns = atoi(optarg); break;
			case 'b': opt.batch = atoi(optarg); break;
			case 'w': opt.window = atoi(optarg); break;
			case 'd': opt.duration = atof(optarg); break;
			case 'r': opt.rate = atof(optarg); break;
			case 'a': opt.active = atoi(optarg); break;
			case 'H': opt.hold = atof(optarg); break;
			case 'P': opt.watch_pid = atoi(optarg); break;
			case 't': opt.tag = optarg; break;
			case 'M': opt.max_connecting = atoi(optarg); break;
			default:
				fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
				return 2;
		}
	}
	if (opt.port <= 0 || opt.nconns <= 0 || opt.window <= 0 || opt.batch <= 0)
	{
		fprintf(stderr, "loadgen: --port, --conns, --window and --batch must be positive\n");
		return 2;
	}
	signal(SIGINT, sigint);
	signal(SIGPIPE, SIG_IGN);
	conns = calloc(opt.nconns, sizeof(Conn));
	bufcap = LWS_PRE + 512 + (size_t) (opt.batch > 0 ? opt.batch : 1) * 1400;
	buf = malloc(bufcap);
	snprintf(session_prefix, sizeof(session_prefix), "lg%lx%x", (long) time(NULL), (unsigned) getpid());
	for (int i = 0; i < opt.nconns; i++)
	{
		conns[i].idx = i;
		conns[i].sendt = calloc(opt.window, sizeof(double));
		snprintf(conns[i].session_id, sizeof(conns[i].session_id), "%s_%s_%d", session_prefix, opt.tag, i);
	}

	lws_set_log_level(getenv("LOADGEN_LWS_LOG") ? atoi(getenv("LOADGEN_LWS_LOG")) : LLL_ERR, NULL);
	memset(&info, 0, sizeof(info));
	/*
	 * libuv (epoll) rather than lws's default poll loop: poll scans every
	 * connection on each wakeup, and lws rounds the time to the next 1 ms
	 * tick down to a 0 ms poll, so the paced runs spun at 10,000 polls a
	 * second and took half a CPU from the server they measure.
	 */
	uv_loop_init(&loop);
	foreign_loops[0] = &loop;
	info.foreign_loops = foreign_loops;
	info.options = LWS_SERVER_OPTION_LIBUV;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned) opt.nconns + 64;
	info.gid = (gid_t) -1;
	info.uid = (uid_t) -1;
	info.timeout_secs = 60;
	ctx = lws_create_context(&info);
	if (!ctx)
	{
		fprintf(stderr, "loadgen: lws_create_context failed\n");
		return 1;
	}
	rss_base = rss_mb(opt.watch_pid);
	anon_base = anon_last;
	t_begin = now_s();
	lws_sul_schedule(ctx, 0, &tick_sul, tick, 1000);
	while (phase != P_DONE && !interrupted)
		uv_run(&loop, UV_RUN_ONCE);
	getrusage(RUSAGE_SELF, &ru_end);
	if (t_run == 0)
		t_run = now_s(), ru_run = ru_end;
	if (t_end == 0)
		t_end = now_s();
	for (int i = 0; i < opt.nconns; i++)
	{
		acked_total += conns[i].events_acked;
		sent_total += conns[i].events_sent;
		if (conns[i].state == C_STARTED)
			nstarted_final++;
	}
	cpu = (ru_end.ru_utime.tv_sec - ru_run.ru_utime.tv_sec) + (ru_end.ru_utime.tv_usec - ru_run.ru_utime.tv_usec) / 1e6 +
		(ru_end.ru_stime.tv_sec - ru_run.ru_stime.tv_sec) + (ru_end.ru_stime.tv_usec - ru_run.ru_stime.tv_usec) / 1e6;
	wall = (t_last_ack > t_run ? t_last_ack : t_end) - t_run;
	if (wall <= 0)
		wall = 1e-9;
	qsort(lat, nlat, sizeof(double), cmpd);
	printf("{\"tag\":\"%s\",\"mode\":\"%s\",\"conns\":%d,\"batch\":%d,\"window\":%d,\"rate\":%.0f,"
		   "\"events_sent\":%.0f,\"events_acked\":%.0f,\"seconds\":%.3f,\"events_per_s\":%.1f,"
		   "\"loadgen_cpu_s\":%.3f,\"loadgen_cpu_share\":%.3f,"
		   "\"lat_frames\":%zu,\"lat_p50_ms\":%.3f,\"lat_p95_ms\":%.3f,\"lat_p99_ms\":%.3f,\"lat_max_ms\":%.3f,"
		   "\"connected\":%d,\"closed\":%d,\"errors\":%lld,\"first_error\":\"",
		   opt.tag, opt.mode == M_V1 ? "v1" : opt.mode == M_V2 ? "v2" : "idle",
		   opt.nconns, opt.mode == M_V1 ? 1 : opt.batch, opt.window, opt.rate,
		   sent_total, acked_total, wall, acked_total / wall, cpu, cpu / wall,
		   nlat, pct(50), pct(95), pct(99), nlat ? lat[nlat - 1] : -1,
		   nstarted_final, nclosed, (long long) errors);
	for (const char *p = first_error; *p; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char) *p >= 32)
			putchar(*p);
	printf("\"");
	if (opt.watch_pid > 0)
		printf(",\"rss_base_mb\":%.1f,\"rss_idle_mb\":%.1f,\"rss_active_mb\":%.1f,\"rss_final_mb\":%.1f,\"rss_peak_mb\":%.1f"
			   ",\"anon_base_mb\":%.1f,\"anon_idle_mb\":%.1f,\"anon_active_mb\":%.1f,\"anon_final_mb\":%.1f",
			   rss_base, rss_idle, rss_active, rss_final, rss_peak, anon_base, anon_idle, anon_active, anon_final);
	if (opt.mode == M_IDLE)
		printf(",\"active\":%d,\"served_first\":%d,\"served_final\":%d", opt.active, served_first, served_final);
	printf("}\n");
	fflush(stdout);
	/* skip lws_context_destroy: closing 10k sockets one by one is slow and irrelevant */
	_exit(0);
}
