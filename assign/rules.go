package assign

// DefaultRules returns Turkish and English keywords for the default units.
// Keywords are written as visitors type them; Fold makes "şifre" match
// "SIFRE" and "Şifremi" alike. Stems cover Turkish consonant changes
// ("hesap", "hesab" for "hesabım").
func DefaultRules() []Rule {
	return []Rule{
		{
			Unit: "account",
			Keywords: []string{
				"password", "passcode", "account", "login", "log in", "logged in", "sign in", "signin",
				"verif", "identity", "id card", "kyc", "=2fa", "two factor", "authenticator",
				"locked", "blocked", "username", "email change", "reset",
				"şifre", "parola", "hesap", "hesab", "giriş", "giriş yapamıyorum", "doğrula",
				"kimlik", "onay kodu", "sms kodu", "iki aşamalı", "iki adımlı", "kilitlendi",
				"bloke", "kullanıcı adı", "e-posta değiş", "üyelik",
			},
			Urgent: []string{
				"hacked", "account hacked", "account stolen", "unauthorized access",
				"someone logged into", "hesabım çalındı", "hesabımı çaldılar", "şifrem çalındı",
				"hacklendi", "izinsiz giriş", "hesabıma başkası",
			},
		},
		{
			Unit: "financial",
			Keywords: []string{
				"payment", "=pay", "withdraw", "deposit", "card", "refund", "invoice", "bill",
				"charge", "balance", "money", "bank", "transaction",
				"öde", "para çek", "para yatır", "yatır", "çekim", "kart", "iade", "fatura",
				"bakiye", "banka", "havale", "=eft", "ücret", "tahsil", "işlem",
			},
			Urgent: []string{
				"stolen card", "card stolen", "card was stolen", "unauthorized transaction",
				"unauthorized charge", "unauthorised transaction", "fraud",
				"kartım çalındı", "kartımı çaldılar", "çalıntı kart", "yetkisiz işlem",
				"izinsiz işlem", "izinsiz çekim", "dolandırıl",
			},
		},
		{
			Unit: "technical",
			Keywords: []string{
				"error", "=bug", "crash", "app crash", "not working", "doesn't work", "broken",
				"freeze", "frozen", "slow", "loading", "won't load", "page", "browser", "update",
				"install", "connection", "timeout", "glitch", "android", "iphone", "=ios",
				"hata", "uygulama", "çök", "yüklenmiyor", "açılmıyor", "çalışmıyor", "donuyor",
				"dondu", "yavaş", "sayfa", "site", "tarayıcı", "güncelle", "bağlantı", "sunucu",
				"ekran",
			},
		},
		{
			Unit: "general",
			Keywords: []string{
				"hello", "question", "info", "help", "campaign", "bonus",
				"merhaba", "soru", "bilgi", "yardım", "kampanya", "promosyon",
			},
		},
	}
}
