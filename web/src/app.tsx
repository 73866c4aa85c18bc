// The shell: sign-in gate, navigation, routes. The chat list is part of the first
// bundle (it is the first screen after sign-in); every other area is a lazy chunk.
import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from "preact-iso";
import { t } from "./i18n";
import { useConnectionState } from "./net/status";
import SignIn from "./screens/auth/SignIn";
import ChatsScreen from "./screens/chats/ChatsScreen";
import { useMe } from "./store/session";
import { isSignedIn } from "./store/session";

const ProfileSetup = lazy(() => import("./screens/auth/ProfileSetup"));
const JoinChat = lazy(() => import("./screens/chats/JoinChat"));
const Settings = lazy(() => import("./screens/settings/Settings"));
const OrgRoutes = lazy(() => import("./screens/org/OrgRoutes"));
const OrgJoin = lazy(() => import("./screens/org/OrgJoin"));
const ParentRoutes = lazy(() => import("./screens/parent/ParentRoutes"));
const Moderation = lazy(() => import("./screens/moderation/Moderation"));
const Help = lazy(() => import("./screens/help/Help"));
const UserProfile = lazy(() => import("./screens/profile/UserProfile"));

const NAV: { href: string; key: Parameters<typeof t>[0]; icon: string; match: RegExp }[] = [
  { href: "/", key: "nav.chats", icon: "💬", match: /^\/($|chats|join)/ },
  { href: "/orgs", key: "nav.orgs", icon: "🏫", match: /^\/(orgs|org-join|moderation)/ },
  { href: "/children", key: "nav.children", icon: "👪", match: /^\/children/ },
  { href: "/help", key: "nav.help", icon: "❓", match: /^\/help/ },
  { href: "/settings", key: "nav.settings", icon: "⚙️", match: /^\/settings/ },
];

function Nav() {
  const { path } = useLocation();
  return (
    <nav class="nav" aria-label={t("app.name")}>
      <span class="nav__brand" aria-hidden="true">
        {t("app.name")}
      </span>
      <ul>
        {NAV.map((item) => {
          const active = item.match.test(path);
          return (
            <li key={item.href}>
              <a href={item.href} class={active ? "nav__item nav__item--active" : "nav__item"} aria-current={active ? "page" : undefined}>
                <span aria-hidden="true">{item.icon}</span>
                <span class="nav__label">{t(item.key)}</span>
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function ConnectionBanner() {
  const state = useConnectionState();
  if (state === "online") return null;
  return (
    <div class={`banner banner--${state}`} role="status" aria-live="polite">
      {state === "offline" ? t("status.offline") : t("status.connecting")}
    </div>
  );
}

function NotFound() {
  return <p class="empty">{t("error.not_found")}</p>;
}

function SignedIn() {
  const me = useMe();
  if (me && !me.first_name) return <ProfileSetup />;
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <Nav />
      <main id="main" class="shell__main" tabIndex={-1}>
        <ConnectionBanner />
        <ErrorBoundary>
          <Router>
            <Route path="/" component={ChatsScreen} />
            <Route path="/chats/:chatId" component={ChatsScreen} />
            <Route path="/join/:token" component={JoinChat} />
            <Route path="/settings" component={Settings} />
            <Route path="/orgs" component={OrgRoutes} />
            <Route path="/orgs/*" component={OrgRoutes} />
            <Route path="/org-join/:token" component={OrgJoin} />
            <Route path="/children" component={ParentRoutes} />
            <Route path="/children/*" component={ParentRoutes} />
            <Route path="/moderation/:orgId" component={Moderation} />
            <Route path="/help" component={Help} />
            <Route path="/help/:page" component={Help} />
            <Route path="/users/:userId" component={UserProfile} />
            <Route default component={NotFound} />
          </Router>
        </ErrorBoundary>
      </main>
    </div>
  );
}

export function App() {
  const me = useMe();
  const signedIn = me !== null || isSignedIn();
  return <LocationProvider>{signedIn ? <SignedIn /> : <SignIn />}</LocationProvider>;
}
