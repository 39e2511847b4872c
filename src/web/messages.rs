//! The pages' words in English and French: one key per sentence or label,
//! both languages side by side so that neither can be missing.

use super::locale::Locale;

macro_rules! catalogue {
    ($($key:ident => $en:literal, $fr:literal;)*) => {
        /// A sentence or label of the pages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Key { $($key),* }

        /// `key` in `locale`.
        pub fn text(locale: Locale, key: Key) -> &'static str {
            match (key, locale) {
                $((Key::$key, Locale::En) => $en, (Key::$key, Locale::Fr) => $fr,)*
            }
        }
    };
}

catalogue! {
    AppName => "commons-ledger", "commons-ledger";
    SkipToContent => "Skip to the content", "Aller au contenu";
    MainNavigation => "Main navigation", "Navigation principale";
    MyAccount => "My account", "Mon compte";
    SignIn => "Sign in", "Se connecter";
    SignOut => "Sign out", "Se déconnecter";
    Language => "Language", "Langue";
    Email => "Email", "Adresse électronique";
    Password => "Password", "Mot de passe";
    SignInFailed => "The email or password is wrong.", "L’adresse ou le mot de passe est incorrect.";
    SignInLimited => "Too many attempts: wait a minute, then try again.", "Trop de tentatives : attendez une minute puis réessayez.";
    SignInBusy => "The service is busy: try again in a moment.", "Le service est occupé : réessayez dans un instant.";
    FormExpired => "This form has expired: reload the page and send it again.", "Ce formulaire a expiré : rechargez la page et renvoyez-le.";
    NotFound => "There is no such page, or it is not public.", "Cette page n’existe pas ou n’est pas publique.";
    Forbidden => "Your role in this project does not allow this.", "Votre rôle dans ce projet ne le permet pas.";
    Broken => "Something went wrong on our side; nothing was changed.", "Un problème est survenu de notre côté ; rien n’a été modifié.";
    PublicProjects => "Public projects", "Projets publics";
    NoPublicProjects => "No project is public yet.", "Aucun projet n’est encore public.";
    HomeIntro => "The books of citizen-science and open-science commons: contributions, pooled funds and how they are redistributed.", "Les comptes des communs de science citoyenne et ouverte : contributions, fonds mis en commun et leur redistribution.";
    PublicBooks => "Public books", "Comptes publics";
    MoneyIn => "Money in", "Argent reçu";
    MoneyOut => "Money out", "Argent dépensé";
    Pools => "Pools", "Réserves de fonds";
    Kind => "Kind", "Type";
    Reference => "Reference", "Référence";
    Funder => "Funder", "Financeur";
    Received => "Received", "Reçu";
    ReceivedOn => "Received on", "Reçu le";
    Restriction => "Restriction", "Affectation";
    Amount => "Amount", "Montant";
    Category => "Category", "Catégorie";
    ByCategory => "By category", "Par catégorie";
    ByDistribution => "By distribution", "Par distribution";
    Account => "Account", "Compte";
    Balance => "Balance", "Solde";
    Reserved => "Reserved", "Réservé";
    Available => "Available", "Disponible";
    Spent => "Spent", "Dépensé";
    Distributed => "Distributed", "Distribué";
    Remaining => "Remaining", "Restant";
    ContributionsByKind => "Contributions by kind over time", "Contributions par type au fil du temps";
    Month => "Month", "Mois";
    KindTime => "Time", "Temps";
    KindEquipment => "Equipment", "Équipement";
    KindData => "Data", "Données";
    KindMoney => "Money", "Argent";
    KindMaterial => "Material", "Matériel";
    LatestDistributions => "Latest distributions", "Dernières distributions";
    Distribution => "Distribution", "Distribution";
    Period => "Period", "Période";
    Status => "Status", "État";
    Contributor => "Contributor", "Contributeur·rice";
    Why => "Why", "Pourquoi";
    WhyApproved => "approved value in the period:", "de valeur approuvée sur la période :";
    WhyOfStep => "of the step", "de l’étape";
    WhyRounding => "by largest remainder", "au plus fort reste";
    WhyCapped => "capped, to residue:", "plafonné, au reliquat :";
    WhyDropped => "below the minimum payout: to residue", "sous le versement minimum : au reliquat";
    WhyPaid => "paid", "versé";
    WhyExact => "Exact figures, by kind (in English)", "Détail exact, par nature (en anglais)";
    Residue => "Residue (stays in the pool)", "Reliquat (reste dans la réserve)";
    ToReserve => "To an account", "Vers un compte";
    Downloads => "Downloads", "Téléchargements";
    JournalCsv => "Journal (CSV)", "Journal (CSV)";
    JournalHledger => "Journal for hledger", "Journal pour hledger";
    ContributionsCsv => "Contributions (CSV)", "Contributions (CSV)";
    GrantReport => "Grant report (CSV)", "Rapport de subvention (CSV)";
    DistributionStatement => "Distribution statement (CSV)", "Relevé de distribution (CSV)";
    Nothing => "Nothing yet.", "Rien pour l’instant.";
    ChartOf => "Chart of the table above", "Graphique du tableau ci-dessus";
    ValueAccount => "My value account", "Mon compte de valeur";
    Project => "Project", "Projet";
    Role => "Role", "Rôle";
    MyProjects => "My projects", "Mes projets";
    ValueByKind => "Contributed value by kind", "Valeur apportée par type";
    ValueOverTime => "Contributed value over time", "Valeur apportée au fil du temps";
    Approved => "Approved", "Approuvée";
    Pending => "Pending", "En attente";
    Rejected => "Rejected", "Refusée";
    Earned => "Earned", "Gagné";
    Paid => "Paid", "Versé";
    Owed => "Still owed", "Reste dû";
    WhyYouGotThis => "Why you got each amount", "Pourquoi vous avez reçu chaque montant";
    MyContributions => "My contributions", "Mes contributions";
    LogContribution => "Log a contribution", "Déclarer une contribution";
    Date => "Date", "Date";
    Quantity => "Quantity", "Quantité";
    Unit => "Unit", "Unité";
    Hours => "hours", "heures";
    Days => "days", "jours";
    Dataset => "dataset", "jeu de données";
    Description => "Description", "Description";
    Skill => "Skill (time)", "Compétence (temps)";
    EquipmentName => "Equipment (equipment)", "Équipement (équipement)";
    DatasetTitle => "Dataset title (data)", "Titre du jeu de données (données)";
    DatasetUri => "Dataset URI or DOI (data)", "URI ou DOI du jeu de données (données)";
    DatasetLicence => "Licence, an SPDX expression (data)", "Licence, expression SPDX (données)";
    DatasetChecksum => "Checksum (data)", "Empreinte (données)";
    Send => "Send", "Envoyer";
    Value => "Value", "Valeur";
    Claim => "Claim an expense I paid", "Demander le remboursement d’une dépense";
    Receipt => "Receipt (file name, URL or number)", "Justificatif (nom de fichier, URL ou numéro)";
    ReviewQueue => "Contributions to review", "Contributions à examiner";
    Approve => "Approve", "Approuver";
    Reject => "Reject", "Refuser";
    Reason => "Reason", "Motif";
    Distributions => "Distributions", "Distributions";
    DraftDistribution => "Draft a distribution", "Préparer une distribution";
    RuleSetVersion => "Rule set version", "Version des règles";
    Grant => "Grant", "Subvention";
    PeriodFrom => "Period from", "Période du";
    PeriodTo => "Period to", "Période au";
    DryRun => "Dry run, line by line", "Simulation, ligne par ligne";
    Approvals => "Approvals", "Approbations";
    Execute => "Execute", "Exécuter";
    EffectiveDate => "Effective date", "Date d’effet";
    Money => "Grants, expenses and payouts", "Subventions, dépenses et versements";
    RecordGrant => "Record a grant or donation", "Enregistrer une subvention ou un don";
    RecordExpense => "Record an expense", "Enregistrer une dépense";
    RecordPayout => "Record a payout", "Enregistrer un versement";
    Supplier => "Supplier", "Fournisseur";
    Method => "Method", "Moyen";
    Refused => "Refused:", "Refusé :";
    Open => "Open", "Ouvrir";
    Treasury => "Treasury", "Trésorerie";
    Reports => "Grants and reports", "Subventions et rapports";
    ContributorNames => "Contributors are shown as the project allows.", "Les contributeur·rices sont affiché·es selon le choix du projet.";
    NamesHidden => "This project keeps its contributors' names private: each is shown as a numbered contributor.", "Ce projet garde privés les noms de ses contributeur·rices : chacun·e est affiché·e par un numéro.";
    NamesInitials => "This project shows its contributors by their initials.", "Ce projet affiche ses contributeur·rices par leurs initiales.";
    Settings => "Settings", "Réglages";
    SettingsIntro => "How this project names its contributors on its public page and to everyone who may read its books.", "Comment ce projet nomme ses contributeur·rices sur sa page publique et pour toute personne qui peut lire ses comptes.";
    ContributorNamesSetting => "Contributors' names", "Noms des contributeur·rices";
    NamesHiddenChoice => "Hidden (numbered)", "Masqués (numérotés)";
    NamesInitialsChoice => "Initials", "Initiales";
    NamesShownChoice => "Full names", "Noms complets";
    RoleOwner => "owner", "propriétaire";
    RoleTreasurer => "treasurer", "trésorier·ère";
    RoleContributor => "contributor", "contributeur·rice";
    RoleAuditor => "auditor", "auditeur·rice";
    NamesShown => "This project shows its contributors by name.", "Ce projet affiche ses contributeur·rices par leur nom.";
    Someone => "Contributor", "Contributeur·rice";
}

/// A problem code of the API (docs/errors.md) in French; `None` where the
/// API's own English detail is shown.
pub fn problem_fr(code: &str) -> Option<&'static str> {
    Some(match code {
        "validation_failed" | "invalid_body" => {
            "certains champs ne conviennent pas (voir ci-dessous)."
        }
        "forbidden" => "votre rôle dans ce projet ne le permet pas.",
        "self_review" => "on ne peut pas examiner sa propre contribution.",
        "self_approval" => "l’auteur·rice d’une distribution ne peut pas l’approuver.",
        "already_approved" => "vous l’avez déjà approuvée.",
        "already_reviewed" | "already_decided" | "contribution_decided" => "c’est déjà décidé.",
        "distribution_state" => "la distribution n’est plus dans un état qui le permet.",
        "insufficient_funds" => "les fonds disponibles ne suffisent pas.",
        "no_applicable_rate" => "aucun taux de valorisation ne s’applique à cette date.",
        "unknown_category" => "cette catégorie de dépense n’existe pas.",
        "restricted_purpose" | "restricted_funds" => {
            "ces fonds affectés ne peuvent pas servir à cela."
        }
        "period_closed" => "cette période est close.",
        "duplicate_reference" => "cette référence est déjà utilisée.",
        "unknown_agent" => "cette personne est inconnue.",
        "changed_during_computation" => "les données ont changé pendant le calcul : réessayez.",
        _ => return None,
    })
}

/// A field-error code of the API in French; `None` where the API's own
/// English message is shown.
pub fn field_fr(code: &str) -> Option<&'static str> {
    Some(match code {
        "required" => "ce champ est obligatoire.",
        "amount_malformed" => "un montant s’écrit avec un point décimal, par exemple 120.50.",
        "amount_precision" => "trop de décimales pour cette devise.",
        "amount_not_positive" => "le montant doit être positif.",
        "amount_too_large" => "ce montant est trop grand.",
        "invalid_date" => "la date doit être au format AAAA-MM-JJ.",
        "date_out_of_range" => "cette date est hors de la période permise.",
        "invalid_quantity" => "la quantité doit être un nombre positif.",
        "invalid_unit" => "cette unité ne convient pas à ce type de contribution.",
        "invalid_kind" => "ce type n’est pas permis ici.",
        "invalid_licence" => "ce n’est pas une expression de licence SPDX valable.",
        "licence_not_open" => {
            "le projet exige une licence ouverte (les licences NC et ND ne le sont pas)."
        }
        "too_long" => "ce texte est trop long.",
        "invalid_character" => "ce texte contient un caractère non permis.",
        "unknown_currency" => "cette devise est inconnue.",
        "invalid_name" => "ce nom ne convient pas.",
        "unknown_category" => "cette catégorie de dépense n’existe pas.",
        "unknown_agent" => "cette personne est inconnue.",
        _ => return None,
    })
}
