"""Name, street and place tables of the synthetic population (written by hand, no download).

Surnames are common French surnames in roughly INSEE's order of frequency,
first names common French first names of several generations; the generator
gives them Zipf-like weights and extends the tail with syllable names
(:func:`syllable_names`). Communes are ``(postcode, city)`` pairs of real
towns (public postal data, written from memory: a postcode may be one of a
town's several). Nothing here is personal data.
"""

from __future__ import annotations

import numpy as np

_SURNAMES = (
    "MARTIN BERNARD THOMAS PETIT ROBERT RICHARD DURAND DUBOIS MOREAU LAURENT SIMON MICHEL "
    "LEFÈVRE LEROY ROUX DAVID BERTRAND MOREL FOURNIER GIRARD BONNET DUPONT LAMBERT FONTAINE "
    "ROUSSEAU VINCENT MULLER LEFEBVRE FAURE ANDRÉ MERCIER BLANC GUÉRIN BOYER GARNIER CHEVALIER "
    "FRANÇOIS LEGRAND GAUTHIER GARCIA PERRIN ROBIN CLÉMENT MORIN NICOLAS HENRY ROUSSEL MATHIEU "
    "GAUTIER MASSON MARCHAND DUVAL DENIS DUMONT MARIE LEMAIRE NOËL MEYER DUFOUR MEUNIER BRUN "
    "BLANCHARD GIRAUD JOLY RIVIÈRE LUCAS BRUNET GAILLARD BARBIER ARNAUD MARTINEZ GÉRARD ROCHE "
    "RENARD SCHMITT ROY LEROUX COLIN VIDAL CARON PICARD ROGER FABRE AUBERT LEMOINE RENAUD DUMAS "
    "LACROIX OLIVIER PHILIPPE BOURGEOIS PIERRE BENOÎT REY LECLERC PAYET ROLLAND LECLERCQ "
    "GUILLAUME LECOMTE LOPEZ JEAN DUPUY GUILLOT HUBERT BERGER CARPENTIER SANCHEZ DUPUIS MOULIN "
    "LOUIS DESCHAMPS HUET VASSEUR PEREZ BOUCHER FLEURY ROYER KLEIN JACQUET ADAM PARIS POIRIER "
    "MARTY AUBRY GUYOT CARRÉ CHARLES RENAULT CHARPENTIER MÉNARD MAILLARD BARON BERTIN BAILLY "
    "HERVÉ SCHNEIDER FERNANDEZ LE_GALL COLLET LÉGER BOUVIER JULIEN PRÉVOST MILLET PERROT DANIEL "
    "LE_ROUX COUSIN GERMAIN BRETON BESSON LANGLOIS RÉMY LE_GOFF PELLETIER LÉVÊQUE PERRIER "
    "LEBLANC BARRÉ LEBRUN MARCHAL WEBER MALLET HAMON BOULANGER JACOB MONNIER MICHAUD RODRIGUEZ "
    "GUICHARD GILLET ÉTIENNE GRONDIN POULAIN TESSIER CHEVALLIER COLLIN CHAUVIN DA_SILVA BOUCHET "
    "GAY LEMAÎTRE BÉNARD MARÉCHAL HUMBERT REYNAUD ANTOINE HOARAU PERRET BARTHÉLEMY CORDIER "
    "PICHON LEJEUNE GILBERT LAMY DELAUNAY PASQUIER CARLIER LAPORTE DOS_SANTOS DE_OLIVEIRA "
    "FERREIRA PEREIRA RODRIGUES GONÇALVES LE_BRIS LE_MOAL KERMARREC TANGUY RIOU QUÉRÉ "
    "BEN_SALAH BENALI HADDAD MOREAU-DUPONT SAINT-PIERRE DESMOULINS LAGARDE VERDIER CHAMPION"
)
SURNAMES = tuple(s.replace("_", " ") for s in _SURNAMES.split())

FEMALE = tuple(
    (
        "Marie Nathalie Isabelle Sylvie Catherine Françoise Martine Christine Monique Valérie "
        "Sandrine Nicole Véronique Sophie Stéphanie Céline Chantal Patricia Anne Brigitte Julie "
        "Aurélie Camille Laura Léa Manon Emma Chloé Sarah Jeanne Jacqueline Michèle Danielle "
        "Hélène Élodie Émilie Caroline Laurence Christiane Annie Dominique Corinne Pascale "
        "Florence Virginie Audrey Mélanie Marion Pauline Lucie Inès Jade Louise Alice Lina Zoé "
        "Anaïs Océane Clémence Mathilde Agnès Josiane Geneviève Odette Simone Yvette Denise "
        "Paulette Marie-Claire Marie-Christine Anne-Marie Marie-Thérèse Marie-France Élise "
        "Noémie Justine Margaux Charlotte Maëlys Éloïse Clara Juliette Nadia Fatima Amina "
        "Yasmine Khadija Leïla Gaëlle Solène Maïwenn Rozenn"
    ).split()
)
MALE = tuple(
    (
        "Jean Pierre Michel Philippe Alain Nicolas Christophe Patrick Daniel Bernard Éric "
        "Frédéric Laurent Stéphane David Pascal Sébastien Julien Thierry Olivier Jacques Gérard "
        "Thomas Alexandre Christian Dominique Didier Vincent François André René Claude Louis "
        "Lucas Hugo Nathan Enzo Léo Gabriel Raphaël Arthur Jules Mathis Maxime Antoine Romain "
        "Guillaume Kévin Jérôme Franck Bruno Serge Yves Marcel Roger Robert Henri Paul Joseph "
        "Georges Jean-Pierre Jean-Claude Jean-Luc Jean-François Jean-Marc Jean-Michel Jean-Paul "
        "Jean-Louis Jean-Jacques Mohamed Karim Mehdi Rachid Yanis Adam Noah Théo Timéo Mathéo "
        "Clément Benjamin Quentin Anthony Jérémy Loïc Cédric Fabrice Gilles Hervé Joël Noël "
        "Lionel Grégory Mickaël Rémi Benoît Erwan Gwenaël Yann"
    ).split()
)

STREET_TYPES = ("rue", "avenue", "boulevard", "place", "chemin", "allée", "impasse", "route")
STREETS = (
    "de la République",
    "Victor Hugo",
    "Jean Jaurès",
    "de la Gare",
    "de l'Église",
    "Pasteur",
    "du Général de Gaulle",
    "des Écoles",
    "Jules Ferry",
    "du Moulin",
    "de la Mairie",
    "Gambetta",
    "des Lilas",
    "du Château",
    "de Verdun",
    "Émile Zola",
    "Voltaire",
    "de Bretagne",
    "Saint-Martin",
    "des Tilleuls",
    "de Paris",
    "Nationale",
    "du Stade",
    "des Acacias",
    "Anatole France",
    "Carnot",
    "de la Paix",
    "du Port",
    "des Roses",
    "de la Forêt",
)

# (postcode, city, department of the postcode)
COMMUNES = (
    ("75011", "Paris", "75"),
    ("75015", "Paris", "75"),
    ("75018", "Paris", "75"),
    ("92100", "Boulogne-Billancourt", "92"),
    ("93200", "Saint-Denis", "93"),
    ("94000", "Créteil", "94"),
    ("69003", "Lyon", "69"),
    ("69100", "Villeurbanne", "69"),
    ("13008", "Marseille", "13"),
    ("13100", "Aix-en-Provence", "13"),
    ("31000", "Toulouse", "31"),
    ("33000", "Bordeaux", "33"),
    ("33600", "Pessac", "33"),
    ("44000", "Nantes", "44"),
    ("44600", "Saint-Nazaire", "44"),
    ("35000", "Rennes", "35"),
    ("35400", "Saint-Malo", "35"),
    ("29200", "Brest", "29"),
    ("29000", "Quimper", "29"),
    ("22000", "Saint-Brieuc", "22"),
    ("56100", "Lorient", "56"),
    ("56000", "Vannes", "56"),
    ("59000", "Lille", "59"),
    ("59100", "Roubaix", "59"),
    ("62000", "Arras", "62"),
    ("67000", "Strasbourg", "67"),
    ("68100", "Mulhouse", "68"),
    ("54000", "Nancy", "54"),
    ("57000", "Metz", "57"),
    ("21000", "Dijon", "21"),
    ("25000", "Besançon", "25"),
    ("42000", "Saint-Étienne", "42"),
    ("38000", "Grenoble", "38"),
    ("73000", "Chambéry", "73"),
    ("74000", "Annecy", "74"),
    ("06000", "Nice", "06"),
    ("83000", "Toulon", "83"),
    ("34000", "Montpellier", "34"),
    ("30000", "Nîmes", "30"),
    ("66000", "Perpignan", "66"),
    ("64000", "Pau", "64"),
    ("87000", "Limoges", "87"),
    ("63000", "Clermont-Ferrand", "63"),
    ("37000", "Tours", "37"),
    ("45000", "Orléans", "45"),
    ("49000", "Angers", "49"),
    ("72000", "Le Mans", "72"),
    ("76000", "Rouen", "76"),
    ("14000", "Caen", "14"),
    ("51100", "Reims", "51"),
    ("80000", "Amiens", "80"),
    ("86000", "Poitiers", "86"),
    ("17000", "La Rochelle", "17"),
    ("20000", "Ajaccio", "2A"),
    ("20200", "Bastia", "2B"),
    ("97400", "Saint-Denis", "974"),
    ("97110", "Pointe-à-Pitre", "971"),
    ("97200", "Fort-de-France", "972"),
)

# INSEE country codes used in the commune field of NIRs of people born abroad (dept 99)
ABROAD = (350, 351, 352, 139, 134, 127, 109, 212, 328, 331, 401)

GP_TITLES = ("Dr", "Docteur", "DR")
INSURERS = (
    "MGEN",
    "Harmonie Mutuelle",
    "MAAF Santé",
    "AG2R La Mondiale",
    "Malakoff Humanis",
    "MACIF",
    "Mutuelle Générale",
    "Swiss Life",
    "AXA",
    "CSS",
)
BLOOD = ("O+", "A+", "B+", "AB+", "O-", "A-", "B-", "AB-")
BLOOD_P = (0.36, 0.37, 0.09, 0.03, 0.06, 0.07, 0.01, 0.01)
EXAMS = (
    "NFS",
    "Glycémie",
    "TSH",
    "Bilan lipidique",
    "Sérologie VIH",
    "Beta-HCG",
    "CRP",
    "Ferritine",
    "HbA1c",
    "Créatinine",
    "PCR SARS-CoV-2",
    "Ionogramme",
)
RESULTS = ("Négatif", "Positif", "Normal", "Anormal", "Voir compte rendu", "En cours")

_ONSETS = ("b", "br", "ch", "d", "f", "g", "gu", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v")
_VOWELS = ("a", "e", "i", "o", "ou", "au", "é", "eu", "an", "in", "on", "ai")
_CODAS = ("", "", "", "l", "r", "n", "t", "s", "c", "x", "lle", "rre", "tte", "quet", "niec", "ard")


def syllable_names(n: int, *, upper: bool) -> np.ndarray:
    """``n`` distinct pronounceable names made of syllables, deterministic in ``n``.

    Name ``k`` is the mixed-radix reading of ``k`` over onset, vowel, onset,
    vowel, coda: a fixed table of up to 3.5 million names, no randomness.

    Parameters
    ----------
    n : int
        How many names (at most ``17*12*17*12*16``).
    upper : bool
        Capitals (surnames) or capitalised (first names).

    Returns
    -------
    numpy.ndarray of object (str), shape (n,)
    """
    k = np.arange(n, dtype=np.int64)
    radices = (len(_ONSETS), len(_VOWELS), len(_ONSETS), len(_VOWELS), len(_CODAS))
    digits = []
    for r in radices:
        digits.append(k % r)
        k = k // r
    parts = [
        np.asarray(_ONSETS, dtype=object)[digits[0]],
        np.asarray(_VOWELS, dtype=object)[digits[1]],
        np.asarray(_ONSETS, dtype=object)[digits[2]],
        np.asarray(_VOWELS, dtype=object)[digits[3]],
        np.asarray(_CODAS, dtype=object)[digits[4]],
    ]
    out = parts[0] + parts[1] + parts[2] + parts[3] + parts[4]
    return np.array([s.upper() if upper else s.capitalize() for s in out], dtype=object)


def zipf_table(
    head: tuple[str, ...], tail: int, exponent: float, *, upper: bool, shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Names and probabilities: the hand list first, then syllable names.

    Weight ``(rank + shift) ** -exponent`` (Zipf-Mandelbrot; ``shift`` 0 is Zipf).

    Returns
    -------
    (names, p) : numpy.ndarray of object, numpy.ndarray of float64
        Same length ``len(head) + tail``; ``p`` sums to 1.
    """
    syl = syllable_names(2 * (tail + len(head)), upper=upper)
    seen = set(head)
    syl = np.array([s for s in dict.fromkeys(syl.tolist()) if s not in seen][:tail], dtype=object)
    names = np.concatenate([np.array(head, dtype=object), syl])
    w = (np.arange(1, len(names) + 1, dtype=np.float64) + shift) ** -exponent
    return names, w / w.sum()
